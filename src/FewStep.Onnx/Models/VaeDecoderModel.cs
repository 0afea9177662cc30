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
    public VaeDecoderModel(OnnxModelSession session, VaeConfig config, int imagesPerRun = 1, bool shrinkArena = false)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(imagesPerRun);
        Session = session;
        Config = config;
        ImagesPerRun = imagesPerRun;
        ShrinkArena = shrinkArena;
        session.RequireInput(LatentSample);
        session.RequireOutput(Sample);
    }

    public OnnxModelSession Session { get; }

    public VaeConfig Config { get; }

    public int ImagesPerRun { get; }

    public bool ShrinkArena { get; }

    /// <summary>
    /// Decodes [batch, latent_channels, h, w] latents into [batch, out_channels, h·f, w·f] pixels, <see cref="ImagesPerRun"/>
    /// images per run: the decoder's activations at full resolution (128 channels × h·f × w·f per image, several alive
    /// at once) are what a batch multiplies, and each image decodes on its own (the VAE has no cross-image terms).
    /// </summary>
    public float[] Decode(float[] latents, int batch, int latentHeight, int latentWidth, OnnxRunClock? clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(latents);
        var f = Config.ScaleFactor;
        var slice = ImagesPerRun == 0 ? batch : Math.Min(ImagesPerRun, batch);
        var latentLength = Config.LatentChannels * latentHeight * latentWidth;
        var pixelLength = Config.OutChannels * latentHeight * f * latentWidth * f;
        var pixels = slice == batch ? null : new float[batch * pixelLength];
        FloatTensorBinding? input = null, output = null;
        try
        {
            for (var start = 0; start < batch; start += slice)
            {
                var count = Math.Min(slice, batch - start);
                if (input is null || input.Shape[0] != count)
                {
                    input?.Dispose();
                    output?.Dispose();
                    input = new FloatTensorBinding(Session, LatentSample, Session.RequireInput(LatentSample),
                        [count, Config.LatentChannels, latentHeight, latentWidth]);
                    output = new FloatTensorBinding(Session, Sample, Session.RequireOutput(Sample),
                        [count, Config.OutChannels, latentHeight * f, latentWidth * f]);
                }

                latents.AsSpan(start * latentLength, count * latentLength).CopyTo(input.Data);
                input.Stage();
                // Only the last slice shrinks: the ones before it reuse what the first one took.
                var last = start + count >= batch;
                Session.Run([LatentSample], [input.Value], [Sample], [output!.Value], clock, cancellationToken, ShrinkArena && last);
                output.Complete();
                if (pixels is null)
                {
                    return output.Data;
                }

                output.Data.AsSpan(0, count * pixelLength).CopyTo(pixels.AsSpan(start * pixelLength));
            }

            return pixels!;
        }
        finally
        {
            input?.Dispose();
            output?.Dispose();
        }
    }

    public void Dispose() => Session.Dispose();
}
