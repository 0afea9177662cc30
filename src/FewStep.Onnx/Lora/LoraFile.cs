namespace FewStep.Onnx.Lora;

/// <summary>A LoRA file read and mapped onto a model: every layer it changes, with diffusers module paths.</summary>
public sealed record LoraFile(
    string Path,
    string Sha256,
    IReadOnlySet<LoraFormat> Formats,
    IReadOnlyList<LoraLayer> Layers,
    IReadOnlyDictionary<string, string> Metadata);
