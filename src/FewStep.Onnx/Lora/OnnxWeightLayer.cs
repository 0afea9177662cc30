using Microsoft.ML.OnnxRuntime.Tensors;

namespace FewStep.Onnx.Lora;

/// <summary>
/// A layer of an ONNX graph whose weight a LoRA can be merged into: the node, its weight initializer and how the
/// weight is laid out.
/// </summary>
/// <param name="ModulePath">The module path the node name spells, wrapper scope included (<c>unet.down_blocks.0.attentions.0.proj_in</c>).</param>
/// <param name="NodeName">The node, e.g. <c>/unet/down_blocks.0/attentions.0/proj_in/MatMul</c>.</param>
/// <param name="Op">MatMul, Gemm or Conv.</param>
/// <param name="InitializerName">The weight (the node's input 1), e.g. <c>onnx::MatMul_2367</c> or <c>unet.conv_in.weight</c>.</param>
/// <param name="Layout">[in, out], [out, in] or [out, in, kh, kw].</param>
/// <param name="Dims">The initializer's dimensions.</param>
/// <param name="ElementType">Float, Float16 or BFloat16 (ONNX's data_type numbers 1, 10, 16).</param>
/// <param name="ConsumerCount">How many node inputs (subgraphs included) and graph outputs name the initializer.</param>
/// <param name="Storage">Where the initializer's values are.</param>
public sealed record OnnxWeightLayer(
    string ModulePath,
    string NodeName,
    OnnxWeightOp Op,
    string InitializerName,
    OnnxWeightLayout Layout,
    IReadOnlyList<long> Dims,
    TensorElementType ElementType,
    int ConsumerCount,
    OnnxTensorStorage Storage)
{
    /// <summary>Input features (Linear) or input channels (Conv).</summary>
    public long In => Layout == OnnxWeightLayout.InOut ? Dims[0] : Dims[1];

    /// <summary>Output features (Linear) or output channels (Conv).</summary>
    public long Out => Layout == OnnxWeightLayout.InOut ? Dims[1] : Dims[0];

    /// <summary>Kernel height and width: 1 × 1 for a Linear layer.</summary>
    public (long Height, long Width) Kernel => Layout == OnnxWeightLayout.Conv ? (Dims[2], Dims[3]) : (1, 1);

    public long ElementCount => Dims.Aggregate(1L, (n, d) => n * d);
}
