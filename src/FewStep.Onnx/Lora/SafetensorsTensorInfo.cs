namespace FewStep.Onnx.Lora;

/// <summary>
/// One tensor entry of a safetensors header, validated: its dtype as written (<c>F32</c>, <c>F16</c>, <c>BF16</c>, ...),
/// its shape and its byte range <c>[Begin, End)</c> relative to the start of the byte buffer that follows the header.
/// </summary>
public sealed record SafetensorsTensorInfo(string Name, string DType, IReadOnlyList<int> Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;

    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);
}
