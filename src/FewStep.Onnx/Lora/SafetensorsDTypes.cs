namespace FewStep.Onnx.Lora;

/// <summary>
/// The dtypes of the safetensors format (huggingface/safetensors <c>Dtype</c>) with their element sizes. Every one is
/// accepted in a header, so a file holding, say, an I64 step counter beside its weights still opens; only the float
/// types can be read as weights.
/// </summary>
internal static class SafetensorsDTypes
{
    private static readonly Dictionary<string, int> s_sizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1,
        ["U8"] = 1,
        ["I8"] = 1,
        ["F8_E5M2"] = 1,
        ["F8_E4M3"] = 1,
        ["I16"] = 2,
        ["U16"] = 2,
        ["F16"] = 2,
        ["BF16"] = 2,
        ["I32"] = 4,
        ["U32"] = 4,
        ["F32"] = 4,
        ["F64"] = 8,
        ["I64"] = 8,
        ["U64"] = 8,
    };

    /// <summary>The element size in bytes, or false for a dtype the format does not define.</summary>
    public static bool TryGetSize(string dtype, out int size) => s_sizes.TryGetValue(dtype, out size);

    /// <summary>F16, BF16 and F32 widen exactly to float32; F64 is narrowed (rounded to nearest).</summary>
    public static bool IsReadableAsFloat32(string dtype) => dtype is "F16" or "BF16" or "F32" or "F64";
}
