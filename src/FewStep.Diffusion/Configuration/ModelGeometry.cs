namespace FewStep.Diffusion.Configuration;

/// <summary>
/// The image sizes a model folder allows, read from its UNet (or transformer) and VAE configs: sides must be multiples
/// of the VAE scale factor times the UNet's down-sampling (the transformer's patch size); the default side is
/// <c>sample_size</c> × VAE scale factor.
/// </summary>
public sealed record ModelGeometry(int VaeScaleFactor, int LatentSizeMultiple, int? SampleSize)
{
    public int SizeMultiple => VaeScaleFactor * LatentSizeMultiple;

    /// <summary>diffusers' default: <c>unet.config.sample_size * vae_scale_factor</c>.</summary>
    public int DefaultSize => (SampleSize ?? 64) * VaeScaleFactor;

    public static ModelGeometry Of(UNetConfig unet, VaeConfig vae)
    {
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(vae);
        return new ModelGeometry(vae.ScaleFactor, unet.LatentSizeMultiple, unet.SampleSize);
    }

    /// <summary>A PixArt transformer: latent sides must divide by the patch size.</summary>
    public static ModelGeometry Of(TransformerConfig transformer, VaeConfig vae)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        ArgumentNullException.ThrowIfNull(vae);
        return new ModelGeometry(vae.ScaleFactor, transformer.PatchSize, transformer.SampleSize);
    }

    public static ModelGeometry Read(ModelFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var vae = folder.ReadConfig<VaeConfig>("vae_decoder");
        return folder.Family == PipelineFamily.PixArt
            ? Of(folder.ReadConfig<TransformerConfig>("transformer"), vae)
            : Of(folder.ReadConfig<UNetConfig>("unet"), vae);
    }
}
