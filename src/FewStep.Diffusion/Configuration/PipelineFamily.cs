namespace FewStep.Diffusion.Configuration;

/// <summary>The pipeline families FewStep runs; each maps from diffusers pipeline class names.</summary>
public enum PipelineFamily
{
    /// <summary>StableDiffusionPipeline (SD 1.x/2.x, SD-Turbo): one CLIP encoder, last hidden state.</summary>
    StableDiffusion,

    /// <summary>StableDiffusionXLPipeline (SDXL, SDXL-Turbo, SDXL-Lightning): two encoders, pooled embeds, time ids.</summary>
    StableDiffusionXL,

    /// <summary>LatentConsistencyModelPipeline (LCM): guidance as an embedding, no unconditional batch.</summary>
    LatentConsistency,

    /// <summary>
    /// PixArtAlphaPipeline (PixArt-α, PixArt-δ/PixArt-LCM): a T5 encoder with attention mask, a DiT transformer with
    /// learned sigma and resolution/aspect-ratio conditions, ordinary classifier-free guidance.
    /// </summary>
    PixArt,
}
