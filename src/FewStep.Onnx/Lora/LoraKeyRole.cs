namespace FewStep.Onnx.Lora;

/// <summary>What one tensor of a LoRA file is to its layer.</summary>
internal enum LoraKeyRole
{
    /// <summary>The down (A) matrix: [rank, in] or [rank, in, kh, kw].</summary>
    Down,

    /// <summary>The up (B) matrix: [out, rank] or [out, rank, 1, 1].</summary>
    Up,

    /// <summary>kohya's 0-d alpha scalar.</summary>
    Alpha,
}
