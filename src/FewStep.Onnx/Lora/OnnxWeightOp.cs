namespace FewStep.Onnx.Lora;

/// <summary>The operator a mergeable weight feeds (input 1).</summary>
public enum OnnxWeightOp
{
    MatMul,
    Gemm,
    Conv,
}
