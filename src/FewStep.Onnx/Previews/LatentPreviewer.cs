using FewStep.Diffusion;
using FewStep.Onnx.Models;
using FewStep.Onnx.Pipelines;

namespace FewStep.Onnx.Previews;

/// <summary>
/// Turns a denoising step's x0 estimate (the scheduler's <c>pred_original_sample</c>: what the image will look like,
/// where the noisy sample would be mostly noise) for the first image of the batch into a preview of at most
/// <see cref="MaxSide"/> pixels on the long side. With a tiny autoencoder (TAESD/TAESDXL in <c>vae_decoder_tiny/</c>)
/// it decodes latents pooled to <see cref="MaxSide"/>/8, so its cost does not grow with the image; without one it
/// projects the latents to RGB linearly (<see cref="LatentRgbFactors"/>). Either costs a small fraction of a step.
/// </summary>
public sealed class LatentPreviewer : IDisposable
{
    public const int MaxSide = 128;

    private readonly LatentRgbFactors _factors;
    private readonly VaeDecoderModel? _tiny;
    private readonly int _tinyScale;
    private long _lastCostTicks;

    /// <param name="tinyDecoder">A tiny autoencoder's decoder (latent_sample → sample in [-1, 1], scaling factor 1), or null.</param>
    /// <param name="tinyScale">Its upsampling factor (the pipeline VAE's, which it stands in for).</param>
    public LatentPreviewer(LatentRgbFactors factors, VaeDecoderModel? tinyDecoder = null, int tinyScale = 8)
    {
        ArgumentNullException.ThrowIfNull(factors);
        _factors = factors;
        _tiny = tinyDecoder;
        _tinyScale = tinyScale;
    }

    /// <summary>
    /// What the last preview made through a <see cref="PreviewingObserver"/> cost (the estimate of the next one's cost in
    /// its budget); zero before the first. Shared by the generations of one pipeline: a stale value only shifts one decision.
    /// </summary>
    public TimeSpan LastCost
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _lastCostTicks));
        set => Volatile.Write(ref _lastCostTicks, value.Ticks);
    }

    /// <summary>Frees the tiny autoencoder's session (the pipeline that made this previewer owns it).</summary>
    public void Dispose() => _tiny?.Dispose();

    /// <summary><c>taesd</c> with a tiny autoencoder, else <c>latent2rgb-sd15</c> or <c>latent2rgb-sdxl</c>.</summary>
    public string Method => _tiny is not null ? "taesd" : "latent2rgb-" + _factors.Name;

    /// <summary>The preview of image 0 of <paramref name="step"/>'s batch.</summary>
    public PreviewImage Render(DenoisingStep step, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(step);
        var shape = step.Shape ?? throw new ArgumentException("The step carries no latent shape.", nameof(step));
        var plane = shape.Height * shape.Width;
        var image = shape.Channels * plane;

        // Schedulers that estimate x0 (all the few-step ones do) fill it; otherwise the sample itself.
        var source = step.PredOriginalSample.Length >= image && step.PredOriginalSample.Span[..image].ContainsAnyExcept(0f)
            ? step.PredOriginalSample.Span[..image]
            : step.PrevSample.Span[..image];
        return Render(source, shape.Channels, shape.Height, shape.Width, cancellationToken);
    }

    /// <summary>The preview of one image's latents, [channels, height, width].</summary>
    public PreviewImage Render(ReadOnlySpan<float> latents, int channels, int height, int width, CancellationToken cancellationToken = default)
    {
        if (_tiny is not null)
        {
            var side = MaxSide / _tinyScale;
            var (h, w) = Fit(height, width, side);
            var pooled = Pool(latents, channels, height, width, h, w);
            var decoded = _tiny.Decode(pooled, 1, h, w, null, cancellationToken);
            return ToRgb(decoded, _tiny.Config.OutChannels, h * _tinyScale, w * _tinyScale, Method);
        }

        if (channels != _factors.Channels)
        {
            throw new DiffusionException($"A latent preview needs {_factors.Channels}-channel latents; these have {channels}.");
        }

        var (ph, pw) = Fit(height, width, MaxSide);
        var small = ph == height && pw == width ? latents.ToArray() : Pool(latents, channels, height, width, ph, pw);
        return Project(small, ph, pw);
    }

    private PreviewImage Project(float[] latents, int height, int width)
    {
        var plane = height * width;
        var rgb = new byte[plane * 3];
        var f = _factors.Factors;
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                var v = _factors.Bias[c];
                for (var l = 0; l < _factors.Channels; l++)
                {
                    v += latents[(l * plane) + p] * f[l, c];
                }

                rgb[(p * 3) + c] = ToByte((v + 1f) / 2f);
            }
        }

        return new PreviewImage(width, height, rgb, Method);
    }

    // NCHW in [-1, 1] (a decoder's sample) to RGB bytes, as diffusers' postprocess does.
    private static PreviewImage ToRgb(float[] sample, int channels, int height, int width, string method)
    {
        var plane = height * width;
        var rgb = new byte[plane * 3];
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                rgb[(p * 3) + c] = ToByte((sample[(Math.Min(c, channels - 1) * plane) + p] / 2f) + 0.5f);
            }
        }

        return new PreviewImage(width, height, rgb, method);
    }

    private static byte ToByte(float unit) => (byte)Math.Round(Math.Clamp(unit, 0f, 1f) * 255f);

    /// <summary>The size that fits <paramref name="side"/> on the long side, keeping the aspect ratio (never larger than given).</summary>
    internal static (int Height, int Width) Fit(int height, int width, int side)
    {
        var longest = Math.Max(height, width);
        if (longest <= side)
        {
            return (height, width);
        }

        return (Math.Max(1, (int)Math.Round((double)height * side / longest)), Math.Max(1, (int)Math.Round((double)width * side / longest)));
    }

    // Area averaging (each target cell the mean of the source cells it covers): downscaling without aliasing.
    internal static float[] Pool(ReadOnlySpan<float> latents, int channels, int height, int width, int toHeight, int toWidth)
    {
        var result = new float[channels * toHeight * toWidth];
        for (var c = 0; c < channels; c++)
        {
            var plane = latents.Slice(c * height * width, height * width);
            for (var y = 0; y < toHeight; y++)
            {
                int y0 = y * height / toHeight, y1 = Math.Max(y0 + 1, (y + 1) * height / toHeight);
                for (var x = 0; x < toWidth; x++)
                {
                    int x0 = x * width / toWidth, x1 = Math.Max(x0 + 1, (x + 1) * width / toWidth);
                    var sum = 0f;
                    for (var sy = y0; sy < y1; sy++)
                    {
                        for (var sx = x0; sx < x1; sx++)
                        {
                            sum += plane[(sy * width) + sx];
                        }
                    }

                    result[(c * toHeight * toWidth) + (y * toWidth) + x] = sum / ((y1 - y0) * (x1 - x0));
                }
            }
        }

        return result;
    }
}
