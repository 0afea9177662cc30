using FewStep.Diffusion.Configuration;

namespace FewStep.Onnx.Lora;

/// <summary>
/// Whether a LoRA file fits a model folder, without loading any session: every key is mapped onto the model's layers
/// and checked as a merge would (what a service checks before accepting a request that names the LoRA).
/// </summary>
public static class LoraCompatibility
{
    /// <summary>The file as mapped onto the model; a <see cref="FewStep.Diffusion.DiffusionException"/> naming the key and file when it does not fit.</summary>
    public static LoraFile Check(string modelFolder, string loraPath)
    {
        var folder = ModelFolder.Open(modelFolder);
        var (indexes, targets) = LoraApplication.ReadTargets(folder, folder.ReadConfig<UNetConfig>("unet"));
        var file = LoraFileReader.Read(loraPath, targets);
        foreach (var group in file.Layers.GroupBy(l => l.Component, StringComparer.Ordinal))
        {
            LoraMerge.Check(indexes[group.Key], group.Key, group.Select(l => (l, 1f)));
        }

        return file;
    }
}
