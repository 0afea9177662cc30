using FewStep.Diffusion;
using FewStep.Diffusion.Tensors;
using FewStep.Onnx.Models;

namespace FewStep.Onnx.Pipelines;

/// <summary>The last stages every family shares: VAE decode with the non-finite check, then 8-bit images.</summary>
internal static class VaeDecoding
{
    /// <summary>Decodes VAE-scaled latents; NaN or infinity in the result is an error naming the likely cause, never a black PNG.</summary>
    public static float[] Decode(
        VaeDecoderModel vae,
        float[] vaeInput,
        int batch,
        int latentHeight,
        int latentWidth,
        string model,
        string nonFiniteHint,
        IPipelineObserver observer,
        StageRecorder stages,
        CancellationToken cancellationToken)
    {
        observer.OnVaeInput(vaeInput);
        float[] decoded;
        using (var stage = stages.Begin("vae_decode"))
        {
            decoded = vae.Decode(vaeInput, batch, latentHeight, latentWidth, stage.Clock, cancellationToken);
        }

        var bad = LatentMath.IndexOfNonFinite(decoded);
        if (bad >= 0)
        {
            throw new DiffusionException(
                $"The VAE decoder of '{model}' produced {decoded[bad]} (NaN or infinity) at value {bad}. {nonFiniteHint} No image was written.");
        }

        observer.OnVaeOutput(decoded);
        return decoded;
    }

    /// <summary>diffusers' post-processing of each image of a decoded NCHW batch, in prompt-major order.</summary>
    public static GeneratedImage[] ToImages(float[] decoded, int batch, int channels, int height, int width, int imagesPerPrompt, IPipelineObserver observer)
    {
        var images = new GeneratedImage[batch];
        for (var b = 0; b < batch; b++)
        {
            var unit = ImagePostprocessor.ToUnitRangeHwc(decoded, b, channels, height, width);
            observer.OnImage(b, unit);
            images[b] = new GeneratedImage(b / imagesPerPrompt, b % imagesPerPrompt, width, height, ImagePostprocessor.ToBytes(unit));
        }

        return images;
    }
}
