using FewStep.Diffusion;

namespace FewStep.Onnx.Lora;

/// <summary>The one message shape for a LoRA file the model cannot take: the file, the key at fault, and why.</summary>
internal static class LoraErrors
{
    public static DiffusionException Key(string path, string key, string why) =>
        new($"LoRA '{path}': key '{key}' {why}.");

    public static DiffusionException File(string path, string why) =>
        new($"LoRA '{path}': {why}.");
}
