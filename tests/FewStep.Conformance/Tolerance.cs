using FewStep.Diffusion.Configuration;

namespace FewStep.Conformance;

/// <summary>|actual − expected| ≤ atol + rtol · |expected|, element-wise (numpy's allclose).</summary>
internal sealed record Tolerance(double Atol, double Rtol)
{
    // PixArt arrays on the latent scale: the latents (and the transformer input, which is the latents) reach a
    // standard deviation of ~200 and the x0 estimate divides by sqrt(alpha_bar) ≈ 0.0064 at t = 999.
    private static readonly string[] s_pixArtLatentScale =
        ["latents_", "transformer_hidden_states_step", "denoised_step", "vae_decoder_input"];

    public static Tolerance Exact { get; } = new(0, 0);

    /// <summary>A whole pipeline with recorded noise (conformance README): atol 1e-3 + rtol 1e-4.</summary>
    public static Tolerance Pipeline { get; } = new(1e-3, 1e-4);

    /// <summary>The final image in [0, 1]: atol 2e-3.</summary>
    public static Tolerance Image { get; } = new(2e-3, 0);

    /// <summary>PixArt latents and x0 estimates (conformance README, PixArt-LCM): atol 1e-2 + rtol 1e-4.</summary>
    public static Tolerance PixArtLatents { get; } = new(1e-2, 1e-4);

    /// <summary>PixArt component outputs (text encoder, transformer, VAE decoder) and their direct derivatives: atol 1e-4.</summary>
    public static Tolerance PixArtComponent { get; } = new(1e-4, 0);

    /// <summary>
    /// The tolerance for one recorded array: integer arrays (ids, masks, timesteps) exact and the image within 2e-3 for
    /// every family; then PixArt splits by array name into the latent scale and component outputs, and the other
    /// families use the whole-pipeline bound.
    /// </summary>
    public static Tolerance For(PipelineFamily family, string arrayName, bool isInteger)
    {
        ArgumentNullException.ThrowIfNull(arrayName);
        if (isInteger)
        {
            return Exact;
        }

        if (arrayName == "image")
        {
            return Image;
        }

        if (family != PipelineFamily.PixArt)
        {
            return Pipeline;
        }

        return s_pixArtLatentScale.Any(prefix => arrayName.StartsWith(prefix, StringComparison.Ordinal)) ? PixArtLatents : PixArtComponent;
    }

    public bool Accepts(double actual, double expected) => Math.Abs(actual - expected) <= Atol + (Rtol * Math.Abs(expected));
}
