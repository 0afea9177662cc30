using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Pipelines;

/// <summary>Loads the pipeline a model folder's <c>model_index.json</c> names: PixArt or the SD/SDXL/LCM pipeline.</summary>
public static class TextToImagePipeline
{
    /// <summary>Opens a model folder and creates every session it needs; errors name the file or field.</summary>
    public static ITextToImagePipeline Load(string modelFolder, OnnxSessionFactory sessions, PipelineLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        options ??= PipelineLoadOptions.None;
        var folder = ModelFolder.Open(modelFolder);
        if (folder.Family == PipelineFamily.PixArt && options.Loras.Count > 0)
        {
            throw new DiffusionException(
                $"loras: '{folder.Root}' is a {folder.Index.ClassName}; LoRAs are merged into SD, SDXL and LCM UNets and CLIP text encoders only.");
        }

        return folder.Family == PipelineFamily.PixArt
            ? PixArtPipeline.Load(folder, sessions)
            : DiffusionPipeline.Load(folder, sessions, options);
    }
}
