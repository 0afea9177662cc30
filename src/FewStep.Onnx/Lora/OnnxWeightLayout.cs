namespace FewStep.Onnx.Lora;

/// <summary>How a mergeable weight is laid out in its initializer (the LoRA update is written accordingly).</summary>
public enum OnnxWeightLayout
{
    /// <summary>[in, out] = Wᵀ: MatMul (constant folding transposed the Linear weight) and Gemm with transB = 0.</summary>
    InOut,

    /// <summary>[out, in] = W, as PyTorch's Linear stores it: Gemm with transB = 1.</summary>
    OutIn,

    /// <summary>[out, in, kh, kw]: Conv (group 1).</summary>
    Conv,
}
