using FewStep.Onnx.Pipelines;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Cli.Generation;

/// <summary>A plain grid of images (no captions), near-square, with a white gap between cells, as a PNG.</summary>
public static class ContactSheet
{
    public const int Gap = 4;

    /// <summary>Columns for <paramref name="count"/> images: ⌈√count⌉.</summary>
    public static int Columns(int count) => Math.Max(1, (int)Math.Ceiling(Math.Sqrt(count)));

    /// <summary>The sheet as 8-bit RGB rows; cells are as large as the largest image.</summary>
    public static GeneratedImage Compose(IReadOnlyList<GeneratedImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
        {
            throw new ArgumentException("A contact sheet needs at least one image.", nameof(images));
        }

        var columns = Columns(images.Count);
        var rows = (images.Count + columns - 1) / columns;
        var cellWidth = images.Max(i => i.Width);
        var cellHeight = images.Max(i => i.Height);
        var width = (columns * cellWidth) + ((columns + 1) * Gap);
        var height = (rows * cellHeight) + ((rows + 1) * Gap);
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, (byte)255);
        for (var n = 0; n < images.Count; n++)
        {
            var image = images[n];
            var x0 = Gap + ((n % columns) * (cellWidth + Gap));
            var y0 = Gap + ((n / columns) * (cellHeight + Gap));
            for (var y = 0; y < image.Height; y++)
            {
                image.Rgb.AsSpan(y * image.Width * 3, image.Width * 3).CopyTo(rgb.AsSpan((((y0 + y) * width) + x0) * 3));
            }
        }

        return new GeneratedImage(0, 0, width, height, rgb);
    }

    public static void Save(GeneratedImage sheet, string path)
    {
        ArgumentNullException.ThrowIfNull(sheet);
        using var png = Image.LoadPixelData<Rgb24>(sheet.Rgb, sheet.Width, sheet.Height);
        var temporary = path + ".tmp";
        png.Save(temporary, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 });
        File.Move(temporary, path, overwrite: true);
    }
}
