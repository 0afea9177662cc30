using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Models;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Previews;

/// <summary>
/// The previewer of a model folder: a tiny autoencoder decoder when the folder holds one in
/// <c>vae_decoder_tiny/</c> (TAESD for SD, TAESDXL for SDXL, exported as <c>latent_sample</c> → <c>sample</c>; 4.9 MB;
/// it takes the denoiser's latents as they are: scaling factor 1), else the family's linear projection.
/// </summary>
public static class TinyAutoencoder
{
    public const string Component = "vae_decoder_tiny";

    /// <summary>Whether <paramref name="folder"/> holds a tiny autoencoder decoder.</summary>
    public static bool IsPresent(ModelFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return File.Exists(Path.Combine(folder.Root, Component, ModelFolder.OnnxFile));
    }

    /// <summary>
    /// The previewer for a pipeline whose VAE is <paramref name="vae"/>; a tiny decoder's session is added to
    /// <paramref name="loader"/> so it is disposed (or placed on the same provider) with the pipeline's.
    /// </summary>
    internal static LatentPreviewer CreatePreviewer(ModelFolder folder, OnnxSessionFactory sessions, VaeConfig vae, ComponentLoader loader)
    {
        var factors = LatentRgbFactors.For(folder.Family);
        if (!IsPresent(folder))
        {
            return new LatentPreviewer(factors);
        }

        // Its own config (AutoencoderTiny) names the channels; the upsampling is the VAE's it stands in for.
        var own = File.Exists(Path.Combine(folder.Root, Component, ModelFolder.ConfigFileName)) ? folder.ReadConfig<VaeConfig>(Component) : vae;
        var config = own with { BlockOutChannels = vae.BlockOutChannels, ScalingFactor = 1f, LatentsMean = null, LatentsStd = null };
        var decoder = loader.Add(new VaeDecoderModel(sessions.Create(Component, folder.OnnxPath(Component)), config));
        return new LatentPreviewer(factors, decoder, config.ScaleFactor);
    }
}
