using FewStep.Diffusion.Configuration;

namespace FewStep.Onnx.Previews;

/// <summary>
/// The linear latent-to-RGB projection ComfyUI's "latent2rgb" previewer uses (and A1111's "Approx cheap"): RGB =
/// latent · factors + bias, then (x + 1) / 2 into [0, 1]. Applied to the latents the denoiser works on (scaled by the
/// VAE's <c>scaling_factor</c>), so it needs no VAE. The numbers are ComfyUI's least-squares fits,
/// <c>comfy/latent_formats.py</c> (classes <c>SD15</c> and <c>SDXL</c>, as of ComfyUI v0.3.x), one row per latent channel.
/// </summary>
public sealed record LatentRgbFactors(string Name, float[,] Factors, float[] Bias)
{
    /// <summary>SD 1.x/2.x latents (SD-Turbo, LCM on SD 1.5, and PixArt, which uses the SD VAE): ComfyUI <c>SD15</c>.</summary>
    public static LatentRgbFactors StableDiffusion { get; } = new("sd15", new float[,]
    {
        // R        G        B
        { 0.3512f, 0.2297f, 0.3227f },
        { 0.3250f, 0.4974f, 0.2350f },
        { -0.2829f, 0.1762f, 0.2721f },
        { -0.2120f, -0.2616f, -0.7177f },
    }, [0f, 0f, 0f]);

    /// <summary>SDXL latents (SDXL-Turbo, SDXL-Lightning, SDXL with LCM-LoRA): ComfyUI <c>SDXL</c>, with its bias.</summary>
    public static LatentRgbFactors StableDiffusionXL { get; } = new("sdxl", new float[,]
    {
        // R        G        B
        { 0.3651f, 0.4232f, 0.4341f },
        { -0.2533f, -0.0042f, 0.1068f },
        { 0.1076f, 0.1111f, -0.0362f },
        { -0.3165f, -0.2492f, -0.2188f },
    }, [0.1084f, -0.0175f, -0.0011f]);

    public int Channels => Factors.GetLength(0);

    /// <summary>
    /// The factors for a pipeline family's latents. An SDXL-family model (two text encoders) has the SDXL VAE; every
    /// other family here decodes with the SD 1.x/2.x VAE.
    /// </summary>
    public static LatentRgbFactors For(PipelineFamily family) =>
        family == PipelineFamily.StableDiffusionXL ? StableDiffusionXL : StableDiffusion;
}
