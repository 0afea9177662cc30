using System.Text.Json;
using FewStep.Diffusion;

namespace FewStep.Onnx.Lora;

/// <summary>
/// Parses and validates the JSON header of a safetensors file:
/// <c>{"__metadata__": {str: str}, "&lt;name&gt;": {"dtype": .., "shape": [..], "data_offsets": [begin, end]}, ...}</c>.
/// Every tensor's byte range must lie inside the byte buffer and hold exactly product(shape) x dtype size bytes, so
/// a later read can trust the entry.
/// </summary>
internal static class SafetensorsHeader
{
    public const string MetadataKey = "__metadata__";

    public static (IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<SafetensorsTensorInfo> Tensors) Parse(
        ReadOnlyMemory<byte> json, long bufferLength, string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new DiffusionException($"'{path}' is not a valid safetensors file: its header is not valid JSON ({ex.Message}).", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(path, $"its header is a JSON {document.RootElement.ValueKind}, not an object");
            }

            IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafetensorsTensorInfo>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                // JsonDocument keeps duplicate names; which one a reader would honour is undefined, so refuse them.
                if (!seen.Add(property.Name))
                {
                    throw Invalid(path, $"its header names '{property.Name}' twice");
                }

                if (property.Name == MetadataKey)
                {
                    metadata = ParseMetadata(property.Value, path);
                }
                else
                {
                    tensors.Add(ParseTensor(property.Name, property.Value, bufferLength, path));
                }
            }

            return (metadata, tensors);
        }
    }

    private static Dictionary<string, string> ParseMetadata(JsonElement element, string path)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (element.ValueKind == JsonValueKind.Null)
        {
            return metadata;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, $"its {MetadataKey} is a JSON {element.ValueKind}, not an object of strings");
        }

        foreach (var entry in element.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw Invalid(path, $"its {MetadataKey} entry '{entry.Name}' is a JSON {entry.Value.ValueKind}, not a string");
            }

            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
            {
                throw Invalid(path, $"its {MetadataKey} names '{entry.Name}' twice");
            }
        }

        return metadata;
    }

    private static SafetensorsTensorInfo ParseTensor(string name, JsonElement element, long bufferLength, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw InvalidTensor(path, name, $"its entry is a JSON {element.ValueKind}, not an object");
        }

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in element.EnumerateObject())
        {
            if (!fields.Add(field.Name))
            {
                throw InvalidTensor(path, name, $"its entry names '{field.Name}' twice");
            }

            switch (field.Name)
            {
                case "dtype":
                    dtypeElement = field.Value;
                    break;
                case "shape":
                    shapeElement = field.Value;
                    break;
                case "data_offsets":
                    offsetsElement = field.Value;
                    break;
                default:
                    // Unknown fields are ignored, as the reference implementation's serde structs do.
                    break;
            }
        }

        var dtype = dtypeElement is { ValueKind: JsonValueKind.String } d
            ? d.GetString()!
            : throw InvalidTensor(path, name, dtypeElement is null ? "its entry has no dtype" : "its dtype is not a string");
        if (!SafetensorsDTypes.TryGetSize(dtype, out var elementSize))
        {
            throw InvalidTensor(path, name, $"its dtype '{dtype}' is not a safetensors dtype");
        }

        var shape = ParseShape(shapeElement, path, name);
        var (begin, end) = ParseOffsets(offsetsElement, path, name);
        if (end > bufferLength)
        {
            throw InvalidTensor(path, name, $"its data_offsets [{begin}, {end}] run past the end of the {bufferLength}-byte buffer");
        }

        // Int128 cannot overflow here: every factor is at most int.MaxValue and the product stops growing once it is
        // larger than the buffer (a zero dimension makes it zero whatever the others are).
        var expected = shape.Contains(0) ? 0 : (Int128)elementSize;
        foreach (var dim in shape)
        {
            expected = expected > bufferLength ? expected : expected * dim;
        }

        if (expected != end - begin)
        {
            var needs = expected > bufferLength ? $"more than the {bufferLength}-byte buffer" : $"{expected}";
            throw InvalidTensor(path, name,
                $"its data_offsets [{begin}, {end}] hold {end - begin} bytes, but shape [{string.Join(", ", shape)}] of {dtype} needs {needs}");
        }

        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }

    private static int[] ParseShape(JsonElement? element, string path, string name)
    {
        if (element is not { ValueKind: JsonValueKind.Array } array)
        {
            throw InvalidTensor(path, name, element is null ? "its entry has no shape" : "its shape is not an array");
        }

        var shape = new int[array.GetArrayLength()];
        var i = 0;
        foreach (var dim in array.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var value) || value < 0 || value > int.MaxValue)
            {
                throw InvalidTensor(path, name, $"its shape dimension {i} ({dim.GetRawText()}) is not an integer from 0 to {int.MaxValue}");
            }

            shape[i++] = (int)value;
        }

        return shape;
    }

    private static (long Begin, long End) ParseOffsets(JsonElement? element, string path, string name)
    {
        if (element is not { ValueKind: JsonValueKind.Array } array || array.GetArrayLength() != 2)
        {
            throw InvalidTensor(path, name, element is null ? "its entry has no data_offsets" : "its data_offsets are not an array [begin, end]");
        }

        var begin = Offset(array[0]);
        var end = Offset(array[1]);
        return end < begin
            ? throw InvalidTensor(path, name, $"its data_offsets [{begin}, {end}] end before they begin")
            : (begin, end);

        long Offset(JsonElement value) =>
            value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var offset) && offset >= 0
                ? offset
                : throw InvalidTensor(path, name, $"its data_offsets hold {value.GetRawText()}, not a non-negative integer");
    }

    private static DiffusionException Invalid(string path, string what) =>
        new($"'{path}' is not a valid safetensors file: {what}.");

    private static DiffusionException InvalidTensor(string path, string name, string what) =>
        new($"'{path}' is not a valid safetensors file: tensor '{name}': {what}.");
}
