namespace FewStep.Onnx.Lora;

/// <summary>One tensor of a LoRA file, widened exactly to float32 (F16 and BF16 are stored narrower), row-major.</summary>
public sealed record LoraTensor(string Key, IReadOnlyList<int> Shape, float[] Data)
{
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);
}
