namespace FewStep.Onnx.Lora;

/// <summary>A LoRA merged into a loaded pipeline: its file, content hash, scale and how many layers it changed per component.</summary>
public sealed record AppliedLora(string Path, string Sha256, float Scale, IReadOnlyDictionary<string, int> LayersPerComponent);
