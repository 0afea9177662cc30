namespace FewStep.Diffusion.Configuration;

/// <summary>
/// The image sizes a model folder allows, read from its UNet and VAE configs: sides must be multiples of
/// the VAE scale factor times the UNet's down-sampling; the default side is UNet <c>sample_size</c> × VAE scale factor.
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

    public static ModelGeometry Read(ModelFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return Of(folder.ReadConfig<UNetConfig>("unet"), folder.ReadConfig<VaeConfig>("vae_decoder"));
    }
}
