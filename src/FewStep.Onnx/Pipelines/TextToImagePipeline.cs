using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Pipelines;

/// <summary>Loads the pipeline a model folder's <c>model_index.json</c> names: PixArt or the SD/SDXL/LCM pipeline.</summary>
public static class TextToImagePipeline
{
    /// <summary>Opens a model folder and creates every session it needs; errors name the file or field.</summary>
    public static ITextToImagePipeline Load(string modelFolder, OnnxSessionFactory sessions)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        var folder = ModelFolder.Open(modelFolder);
        return folder.Family == PipelineFamily.PixArt
            ? PixArtPipeline.Load(folder, sessions)
            : DiffusionPipeline.Load(folder, sessions);
    }
}
