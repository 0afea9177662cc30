using FewStep.Onnx.Pipelines;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Onnx.Imaging;

/// <summary>
/// Encodes generated images as 8-bit RGB PNGs with their parameters in text chunks (ImageSharp writes tEXt,
/// or iTXt for text beyond Latin-1, so any prompt survives).
/// </summary>
public static class PngImageEncoder
{
    private static readonly PngEncoder s_encoder = new()
    {
        ColorType = PngColorType.Rgb,
        BitDepth = PngBitDepth.Bit8,
    };

    public static byte[] Encode(GeneratedImage image, ImageParameters parameters)
    {
        using var stream = new MemoryStream();
        Encode(image, parameters, stream);
        return stream.ToArray();
    }

    public static void Encode(GeneratedImage image, ImageParameters parameters, Stream destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(parameters);
        using var png = Image.LoadPixelData<Rgb24>(image.Rgb, image.Width, image.Height);
        var metadata = png.Metadata.GetPngMetadata();
        foreach (var (key, value) in parameters.ToTextEntries())
        {
            metadata.TextData.Add(new PngTextData(key, value, string.Empty, string.Empty));
        }

        png.Save(destination, s_encoder);
    }
}
