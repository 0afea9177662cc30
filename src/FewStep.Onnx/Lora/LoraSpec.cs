namespace FewStep.Onnx.Lora;

/// <summary>A LoRA file to merge into a model at load, with the user's scale (diffusers' <c>lora_scale</c>, 1 by default).</summary>
public sealed record LoraSpec(string Path, float Scale = 1f);
