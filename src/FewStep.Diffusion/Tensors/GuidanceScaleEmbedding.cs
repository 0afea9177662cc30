namespace FewStep.Diffusion.Tensors;

/// <summary>
/// The LCM guidance-scale embedding (diffusers <c>get_guidance_scale_embedding</c>, after
/// https://github.com/google-research/vdm): sinusoidal features of <c>w · 1000</c>, computed in float32 as the
/// reference does. LCM pipelines pass it as the UNet's <c>timestep_cond</c> with w = guidance_scale − 1.
/// </summary>
public static class GuidanceScaleEmbedding
{
    /// <summary>Writes the embedding of <paramref name="w"/> into <paramref name="destination"/> (its length is the dimension).</summary>
    public static void Compute(float w, Span<float> destination)
    {
        var embeddingDim = destination.Length;
        if (embeddingDim < 4)
        {
            throw new DiffusionException($"time_cond_proj_dim {embeddingDim} is too small for a guidance-scale embedding (needs at least 4).");
        }

        var halfDim = embeddingDim / 2;
        var scaled = w * 1000f;
        var step = MathF.Log(10000f) / (halfDim - 1);
        for (var k = 0; k < halfDim; k++)
        {
            var frequency = MathF.Exp(k * -step);
            var angle = scaled * frequency;
            destination[k] = MathF.Sin(angle);
            destination[halfDim + k] = MathF.Cos(angle);
        }

        if (embeddingDim % 2 == 1)
        {
            destination[^1] = 0f;
        }
    }
}
