using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Onnx.Previews;

/// <summary>A small RGB preview of a generation in progress (8-bit, row-major), with how it was made.</summary>
public sealed record PreviewImage(int Width, int Height, byte[] Rgb, string Method)
{
    private static readonly PngEncoder s_png = new() { ColorType = PngColorType.Rgb, CompressionLevel = PngCompressionLevel.BestSpeed };

    public byte[] ToPng()
    {
        using var image = Image.LoadPixelData<Rgb24>(Rgb, Width, Height);
        using var stream = new MemoryStream();
        image.Save(stream, s_png);
        return stream.ToArray();
    }

    /// <summary>The PNG as a <c>data:</c> URL, for an <c>&lt;img src&gt;</c> or a JSON status.</summary>
    public string ToDataUrl() => DataUrl(ToPng());

    /// <summary>A PNG's bytes as a <c>data:</c> URL.</summary>
    public static string DataUrl(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);
}
