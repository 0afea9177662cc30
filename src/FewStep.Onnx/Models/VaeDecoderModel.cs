using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Models;

/// <summary>An <c>AutoencoderKL</c> decoder export: <c>latent_sample</c> in, <c>sample</c> (NCHW, about [-1, 1]) out.</summary>
public sealed class VaeDecoderModel : IDisposable, Sessions.IOnnxComponent
{
    public const string LatentSample = "latent_sample";
    public const string Sample = "sample";

    /// <param name="imagesPerRun">Images decoded per run (diffusers' <c>enable_vae_slicing</c> is 1); 0: the whole batch at once.</param>
    /// <param name="shrinkArena">Hand each run's memory back when it ends (see <see cref="OnnxModelSession.Run(IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, OnnxRunClock?, CancellationToken, bool)"/>).</param>
    /// <param name="tiling">Decode latents larger than the VAE's training size in tiles (<see cref="VaeTiling"/>, diffusers' <c>enable_vae_tiling</c>).</param>
    public VaeDecoderModel(OnnxModelSession session, VaeConfig config, int imagesPerRun = 1, bool shrinkArena = false, bool tiling = false)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(imagesPerRun);
        Session = session;
        Config = config;
        ImagesPerRun = imagesPerRun;
        ShrinkArena = shrinkArena;
        Tiling = tiling;
        session.RequireInput(LatentSample);
        session.RequireOutput(Sample);
    }

    public OnnxModelSession Session { get; }

    public VaeConfig Config { get; }

    public int ImagesPerRun { get; }

    public bool ShrinkArena { get; }

    public bool Tiling { get; }

    /// <summary>
    /// Decodes [batch, latent_channels, h, w] latents into [batch, out_channels, h·f, w·f] pixels, <see cref="ImagesPerRun"/>
    /// images per run: the decoder's activations at full resolution (128 channels × h·f × w·f per image, several alive
    /// at once) are what a batch multiplies, and each image decodes on its own (the VAE has no cross-image terms).
    /// With <see cref="Tiling"/>, latents larger than the training size are decoded tile by tile as well.
    /// </summary>
    public float[] Decode(float[] latents, int batch, int latentHeight, int latentWidth, OnnxRunClock? clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(latents);
        var f = Config.ScaleFactor;
        var slice = ImagesPerRun == 0 ? batch : Math.Min(ImagesPerRun, batch);
        var latentLength = Config.LatentChannels * latentHeight * latentWidth;
        var pixelLength = Config.OutChannels * latentHeight * f * latentWidth * f;
        var tiled = Tiling && VaeTiling.Applies(Config, latentHeight, latentWidth);
        var pixels = slice == batch ? null : new float[batch * pixelLength];
        using var runs = new Runs(this);
        for (var start = 0; start < batch; start += slice)
        {
            var count = Math.Min(slice, batch - start);
            var images = latents.AsSpan(start * latentLength, count * latentLength);

            // Only the last run shrinks the arena: the ones before it reuse what the first one took.
            var last = start + count >= batch;
            // A tile's pixels are copied out of the binding, which the next tile of its shape reuses.
            var decoded = tiled
                ? VaeTiling.Decode(Config, images, count, latentHeight, latentWidth,
                    (tile, h, w, lastTile) => (float[])runs.Run(tile, count, h, w, clock, ShrinkArena && last && lastTile, cancellationToken).Clone())
                : runs.Run(images, count, latentHeight, latentWidth, clock, ShrinkArena && last, cancellationToken);
            if (pixels is null)
            {
                return decoded;
            }

            decoded.CopyTo(pixels.AsSpan(start * pixelLength));
        }

        return pixels!;
    }

    public void Dispose() => Session.Dispose();

    // The bindings of the decoder runs of one Decode, kept while the shape repeats (slices of one size, equal tiles).
    private sealed class Runs(VaeDecoderModel vae) : IDisposable
    {
        private FloatTensorBinding? _input;
        private FloatTensorBinding? _output;

        /// <summary>One decoder run; the pixels are the binding's, valid until the next run of the same shape.</summary>
        public float[] Run(ReadOnlySpan<float> latents, int count, int height, int width, OnnxRunClock? clock, bool shrink, CancellationToken cancellationToken)
        {
            var session = vae.Session;
            var config = vae.Config;
            if (_input is null || !_input.Shape.SequenceEqual([count, config.LatentChannels, height, width]))
            {
                Dispose();
                _input = new FloatTensorBinding(session, LatentSample, session.RequireInput(LatentSample), [count, config.LatentChannels, height, width]);
                _output = new FloatTensorBinding(session, Sample, session.RequireOutput(Sample),
                    [count, config.OutChannels, height * config.ScaleFactor, width * config.ScaleFactor]);
            }

            latents.CopyTo(_input.Data);
            _input.Stage();
            session.Run([LatentSample], [_input.Value], [Sample], [_output!.Value], clock, cancellationToken, shrink);
            _output.Complete();
            return _output.Data;
        }

        public void Dispose()
        {
            _input?.Dispose();
            _output?.Dispose();
            _input = _output = null;
        }
    }
}
