using System.Globalization;
using System.Numerics.Tensors;
using FewStep.Diffusion;
using FewStep.Diffusion.Noise;
using FewStep.Diffusion.Schedulers;
using FewStep.Diffusion.Tensors;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Pipelines;

/// <summary>
/// One generation's denoiser (a UNet or a PixArt transformer) with its tensors bound once: the loop writes
/// <see cref="Input"/>, calls <see cref="Run"/> and reads <see cref="Output"/> each step.
/// </summary>
internal interface IDenoiserBuffers : IDisposable
{
    /// <summary>The component: <c>unet</c> or <c>transformer</c> (stage names, observer records, messages).</summary>
    string Name { get; }

    /// <summary>Rows per call: images, twice that with classifier-free guidance (unconditional rows first).</summary>
    int Rows { get; }

    /// <summary>[rows, in_channels, h, w]: the scaled latents, once per copy.</summary>
    float[] Input { get; }

    /// <summary>[rows, out_channels, h, w]: the model's prediction after <see cref="Run"/>.</summary>
    float[] Output { get; }

    void Run(double timestep, OnnxRunClock? clock, CancellationToken cancellationToken);

    /// <summary>The timestep values the model was given, as the observer records them; null when they need no record.</summary>
    IReadOnlyList<long>? TimestepInput(double timestep);
}

/// <summary>
/// The denoising loop every family shares (diffusers' <c>for i, t in enumerate(timesteps)</c>): scale the latents
/// for the model, call it, combine classifier-free guidance, keep the prediction channels, step the scheduler.
/// A family plugs in its prompt encoder (before), its denoiser's inputs (<see cref="IDenoiserBuffers"/>) and its
/// decoder (after).
/// </summary>
internal static class DenoisingLoop
{
    /// <summary>The last sample and the scheduler's last x0 estimate (what LCM decodes).</summary>
    public sealed record Result(float[] Latents, float[] PredOriginal);

    /// <param name="latentChannels">Channels of the latents; a model with more output channels (PixArt's learned sigma) gives its first ones.</param>
    /// <param name="nonFiniteHint">What to say when the model output holds NaN or infinity (the likely cause and fix).</param>
    public static Result Run(
        IScheduler scheduler,
        float[] latents,
        IDenoiserBuffers denoiser,
        int batch,
        int latentChannels,
        int latentWidth,
        bool classifierFreeGuidance,
        float guidanceScale,
        INoiseSource noise,
        string model,
        string nonFiniteHint,
        IPipelineObserver observer,
        StageRecorder stages,
        CancellationToken cancellationToken)
    {
        var timesteps = scheduler.Timesteps;
        var latentLength = latents.Length;
        var plane = latentLength / (batch * latentChannels);
        var outLength = denoiser.Output.Length / (classifierFreeGuidance ? 2 : 1);
        var outChannels = outLength / (batch * plane);
        var prevSample = new float[latentLength];
        var predOriginal = new float[latentLength];
        var guided = classifierFreeGuidance ? new float[outLength] : null;
        var kept = outChannels != latentChannels ? new float[latentLength] : null;
        var copies = classifierFreeGuidance ? 2 : 1;
        var shape = new LatentShape(batch, latentChannels, plane / latentWidth, latentWidth);
        for (var i = 0; i < timesteps.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var factor = scheduler.ScaleModelInputFactor(i);
            for (var c = 0; c < copies; c++)
            {
                TensorPrimitives.Multiply(latents, factor, denoiser.Input.AsSpan(c * latentLength, latentLength));
            }

            using (var stage = stages.Begin(string.Create(CultureInfo.InvariantCulture, $"{denoiser.Name}_step_{i}")))
            {
                denoiser.Run(timesteps[i], stage.Clock, cancellationToken);
            }

            // A float16 overflow gives NaN here long before the VAE: say so at the step it happened.
            var bad = LatentMath.IndexOfNonFinite(denoiser.Output);
            if (bad >= 0)
            {
                throw new DiffusionException(
                    $"The {denoiser.Name} of '{model}' produced {denoiser.Output[bad]} (NaN or infinity) at step {i} (value {bad}). {nonFiniteHint} No image was written.");
            }

            ReadOnlyMemory<float> modelOutput;
            using (stages.Begin(string.Create(CultureInfo.InvariantCulture, $"scheduler_step_{i}")))
            {
                // Guidance on all output channels (PixArt's learned sigma included), then the prediction channels only.
                ReadOnlyMemory<float> combined = denoiser.Output.AsMemory(0, outLength);
                if (guided is not null)
                {
                    LatentMath.CombineGuidance(denoiser.Output.AsSpan(0, outLength), denoiser.Output.AsSpan(outLength, outLength), guidanceScale, guided);
                    combined = guided;
                }

                modelOutput = combined;
                if (kept is not null)
                {
                    KeepFirstChannels(combined.Span, batch, outChannels, latentChannels, plane, kept);
                    modelOutput = kept;
                }

                scheduler.Step(i, modelOutput.Span, latents, noise, prevSample, predOriginal);
            }

            observer.OnStep(new DenoisingStep(i, timesteps.Count, timesteps[i], denoiser.Input, denoiser.Output,
                modelOutput, prevSample, predOriginal, denoiser.Name, denoiser.TimestepInput(timesteps[i]), shape));
            (latents, prevSample) = (prevSample, latents);
        }

        return new Result(latents, predOriginal);
    }

    // diffusers: the first half of the channels when out_channels // 2 == latent channels, else all of them.
    private static void KeepFirstChannels(ReadOnlySpan<float> output, int batch, int outChannels, int channels, int plane, Span<float> destination)
    {
        var keep = channels * plane;
        for (var b = 0; b < batch; b++)
        {
            output.Slice(b * outChannels * plane, keep).CopyTo(destination.Slice(b * keep, keep));
        }
    }
}
