namespace FewStep.Onnx.Lora;

/// <summary>Where a <c>TensorProto</c>'s values are, as found on the wire (nothing of them is held in memory).</summary>
public enum OnnxTensorStorageKind
{
    /// <summary><c>raw_data</c> inside the model file: <see cref="OnnxTensorStorage.Offset"/> and <see cref="OnnxTensorStorage.Length"/> are that field's bytes.</summary>
    RawData,

    /// <summary>
    /// Typed fields (<c>float_data</c>, or <c>int32_data</c> for float16 / bfloat16) inside the model file:
    /// offset and length span the whole <c>TensorProto</c>, which is parsed again when read (exporters use these
    /// only for small tensors).
    /// </summary>
    TypedData,

    /// <summary>An external-data file: <see cref="OnnxTensorStorage.Location"/> relative to the model's folder, offset, and length (null: the tensor's size).</summary>
    External,
}
