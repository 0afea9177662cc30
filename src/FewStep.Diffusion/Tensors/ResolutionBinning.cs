using System.Globalization;

namespace FewStep.Diffusion.Tensors;

/// <summary>
/// PixArt's resolution binning (diffusers 0.27.2 <c>pipeline_pixart_alpha.py</c>, <c>use_resolution_binning=True</c>):
/// the requested size is classified to the bin whose aspect ratio (height / width) is closest, the image is generated
/// at that bin's size, and the decoded image is resized back (<see cref="ImageResize.ResizeAndCrop"/>). The tables are
/// <c>ASPECT_RATIO_1024_BIN</c>, <c>ASPECT_RATIO_512_BIN</c> and <c>ASPECT_RATIO_256_BIN</c>, chosen by the
/// transformer's <c>sample_size</c> (128, 64, 32).
/// </summary>
public static class ResolutionBinning
{
    private static readonly AspectRatioBin[] s_bins1024 =
    [
        new(0.25, 512, 2048),
        new(0.28, 512, 1856),
        new(0.32, 576, 1792),
        new(0.33, 576, 1728),
        new(0.35, 576, 1664),
        new(0.4, 640, 1600),
        new(0.42, 640, 1536),
        new(0.48, 704, 1472),
        new(0.5, 704, 1408),
        new(0.52, 704, 1344),
        new(0.57, 768, 1344),
        new(0.6, 768, 1280),
        new(0.68, 832, 1216),
        new(0.72, 832, 1152),
        new(0.78, 896, 1152),
        new(0.82, 896, 1088),
        new(0.88, 960, 1088),
        new(0.94, 960, 1024),
        new(1.0, 1024, 1024),
        new(1.07, 1024, 960),
        new(1.13, 1088, 960),
        new(1.21, 1088, 896),
        new(1.29, 1152, 896),
        new(1.38, 1152, 832),
        new(1.46, 1216, 832),
        new(1.67, 1280, 768),
        new(1.75, 1344, 768),
        new(2.0, 1408, 704),
        new(2.09, 1472, 704),
        new(2.4, 1536, 640),
        new(2.5, 1600, 640),
        new(3.0, 1728, 576),
        new(4.0, 2048, 512),
    ];

    private static readonly AspectRatioBin[] s_bins512 =
    [
        new(0.25, 256, 1024),
        new(0.28, 256, 928),
        new(0.32, 288, 896),
        new(0.33, 288, 864),
        new(0.35, 288, 832),
        new(0.4, 320, 800),
        new(0.42, 320, 768),
        new(0.48, 352, 736),
        new(0.5, 352, 704),
        new(0.52, 352, 672),
        new(0.57, 384, 672),
        new(0.6, 384, 640),
        new(0.68, 416, 608),
        new(0.72, 416, 576),
        new(0.78, 448, 576),
        new(0.82, 448, 544),
        new(0.88, 480, 544),
        new(0.94, 480, 512),
        new(1.0, 512, 512),
        new(1.07, 512, 480),
        new(1.13, 544, 480),
        new(1.21, 544, 448),
        new(1.29, 576, 448),
        new(1.38, 576, 416),
        new(1.46, 608, 416),
        new(1.67, 640, 384),
        new(1.75, 672, 384),
        new(2.0, 704, 352),
        new(2.09, 736, 352),
        new(2.4, 768, 320),
        new(2.5, 800, 320),
        new(3.0, 864, 288),
        new(4.0, 1024, 256),
    ];

    private static readonly AspectRatioBin[] s_bins256 =
    [
        new(0.25, 128, 512),
        new(0.28, 128, 464),
        new(0.32, 144, 448),
        new(0.33, 144, 432),
        new(0.35, 144, 416),
        new(0.4, 160, 400),
        new(0.42, 160, 384),
        new(0.48, 176, 368),
        new(0.5, 176, 352),
        new(0.52, 176, 336),
        new(0.57, 192, 336),
        new(0.6, 192, 320),
        new(0.68, 208, 304),
        new(0.72, 208, 288),
        new(0.78, 224, 288),
        new(0.82, 224, 272),
        new(0.88, 240, 272),
        new(0.94, 240, 256),
        new(1.0, 256, 256),
        new(1.07, 256, 240),
        new(1.13, 272, 240),
        new(1.21, 272, 224),
        new(1.29, 288, 224),
        new(1.38, 288, 208),
        new(1.46, 304, 208),
        new(1.67, 320, 192),
        new(1.75, 336, 192),
        new(2.0, 352, 176),
        new(2.09, 368, 176),
        new(2.4, 384, 160),
        new(2.5, 400, 160),
        new(3.0, 432, 144),
        new(4.0, 512, 128),
    ];
    /// <summary>The bin table for a transformer <c>sample_size</c>, or null when diffusers has none ("Invalid sample size").</summary>
    public static IReadOnlyList<AspectRatioBin>? BinsFor(int? sampleSize) => sampleSize switch
    {
        128 => s_bins1024,
        64 => s_bins512,
        32 => s_bins256,
        _ => null,
    };

    /// <summary>
    /// diffusers <c>classify_height_width_bin</c>: the bin minimising |ratio − height / width| (the first one on a tie,
    /// as Python's <c>min</c> over the dict keys in order).
    /// </summary>
    public static (int Height, int Width) Classify(int height, int width, IReadOnlyList<AspectRatioBin> bins)
    {
        ArgumentNullException.ThrowIfNull(bins);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        var aspectRatio = (double)height / width;
        var best = bins[0];
        var bestDistance = Math.Abs(best.Ratio - aspectRatio);
        for (var i = 1; i < bins.Count; i++)
        {
            var distance = Math.Abs(bins[i].Ratio - aspectRatio);
            if (distance < bestDistance)
            {
                best = bins[i];
                bestDistance = distance;
            }
        }

        return (best.Height, best.Width);
    }
}

/// <summary>One entry of an aspect-ratio bin table: the key (height / width, as diffusers writes it) and the size.</summary>
public sealed record AspectRatioBin(double Ratio, int Height, int Width)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Ratio}: {Height}x{Width}");
}
