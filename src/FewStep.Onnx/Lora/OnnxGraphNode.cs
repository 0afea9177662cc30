namespace FewStep.Onnx.Lora;

/// <summary>A node of the top-level graph as far as merging needs it: the attributes that change a weight's meaning.</summary>
/// <param name="TransA">Gemm's transA (0 when absent); it transposes the activation, not the weight.</param>
/// <param name="TransB">Gemm's transB (0 when absent).</param>
/// <param name="Group">Conv's group (1 when absent).</param>
/// <param name="Alpha">Gemm's alpha (1 when absent): a merge into B is only the LoRA's delta when it is 1.</param>
internal sealed record OnnxGraphNode(
    string Name,
    string OpType,
    string Domain,
    IReadOnlyList<string> Inputs,
    long TransA,
    long TransB,
    long Group,
    float Alpha);
