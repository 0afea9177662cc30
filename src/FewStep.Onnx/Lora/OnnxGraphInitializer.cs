namespace FewStep.Onnx.Lora;

/// <summary>A top-level graph initializer: its name, ONNX data_type, dimensions and where its values are.</summary>
internal sealed record OnnxGraphInitializer(string Name, int DataType, IReadOnlyList<long> Dims, OnnxTensorStorage Storage);
