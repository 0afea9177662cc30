using System.Text.Json;

namespace FewStep.RealSize;

/// <summary>
/// Parses fill.json strictly. A mistake here would otherwise surface as an ONNX Runtime load error about some
/// offset, or worse as a model that loads with weights in the wrong place, so every field is checked up front.
/// </summary>
internal static class FillSpecReader
{
    public static FillSpec Read(string path, string component)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Error(path, "the top level must be an object");
            }

            var dataFile = RequiredString(root, "data_file", path, "");
            if (dataFile.Length == 0 || dataFile.Contains('/', StringComparison.Ordinal) || dataFile.Contains('\\', StringComparison.Ordinal)
                || dataFile is "." or ".." || dataFile == FillSpec.FileName)
            {
                throw Error(path, $"data_file '{dataFile}' must be a plain file name beside model.onnx");
            }

            var dataBytes = RequiredLong(root, "data_bytes", path, "");
            if (dataBytes <= 0)
            {
                throw Error(path, $"data_bytes must be positive, not {dataBytes}");
            }

            // Optional in the format, but when present they must describe what this filler writes.
            if (root.TryGetProperty("dtype", out var dtype) && (dtype.ValueKind != JsonValueKind.String || dtype.GetString() != "float32"))
            {
                throw Error(path, $"dtype must be \"float32\", not {dtype.GetRawText()}");
            }

            if (root.TryGetProperty("little_endian", out var little) && little.ValueKind != JsonValueKind.True)
            {
                throw Error(path, $"little_endian must be true, not {little.GetRawText()}");
            }

            if (!root.TryGetProperty("tensors", out var tensorsElement) || tensorsElement.ValueKind != JsonValueKind.Array)
            {
                throw Error(path, "tensors must be an array");
            }

            var tensors = new List<FillTensor>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            var index = 0;
            foreach (var element in tensorsElement.EnumerateArray())
            {
                var tensor = ReadTensor(element, path, index++, dataBytes);
                if (!names.Add(tensor.Name))
                {
                    throw Error(path, $"tensor '{tensor.Name}' appears twice");
                }

                tensors.Add(tensor);
            }

            tensors.Sort((a, b) => a.Offset.CompareTo(b.Offset));
            for (var i = 1; i < tensors.Count; i++)
            {
                if (tensors[i].Offset < tensors[i - 1].End)
                {
                    throw Error(path, $"tensor '{tensors[i].Name}' [{tensors[i].Offset}, {tensors[i].End}) overlaps tensor '{tensors[i - 1].Name}' [{tensors[i - 1].Offset}, {tensors[i - 1].End})");
                }
            }

            return new FillSpec(path, component, dataFile, dataBytes, tensors);
        }
    }

    private static FillTensor ReadTensor(JsonElement element, string path, int index, long dataBytes)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Error(path, $"tensors[{index}] must be an object");
        }

        var name = RequiredString(element, "name", path, $"tensors[{index}]: ");
        if (name.Length == 0)
        {
            throw Error(path, $"tensors[{index}]: name must not be empty");
        }

        var where = $"tensor '{name}': ";
        if (!element.TryGetProperty("dims", out var dimsElement) || dimsElement.ValueKind != JsonValueKind.Array)
        {
            throw Error(path, where + "dims must be an array");
        }

        var dims = new List<long>();
        long elements = 1;
        foreach (var dim in dimsElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var value) || value <= 0)
            {
                throw Error(path, where + $"dims must hold positive integers, not {dim.GetRawText()}");
            }

            dims.Add(value);
            elements = CheckedProduct(elements, value, path, where);
        }

        var offset = RequiredLong(element, "offset", path, where);
        var length = RequiredLong(element, "length", path, where);
        var expected = CheckedProduct(elements, sizeof(float), path, where);
        if (length != expected)
        {
            throw Error(path, where + $"length {length} is not product(dims) × 4 = {expected}");
        }

        if (offset < 0 || offset > dataBytes - length)
        {
            throw Error(path, where + $"range [{offset}, {offset + length}) lies outside data_bytes {dataBytes}");
        }

        var mean = RequiredDouble(element, "mean", path, where);
        var std = RequiredDouble(element, "std", path, where);
        if (!double.IsFinite(mean) || !double.IsFinite(std) || std < 0)
        {
            throw Error(path, where + $"mean {mean} and std {std} must be finite and std not negative");
        }

        return new FillTensor(name, dims, offset, length, mean, std);
    }

    private static long CheckedProduct(long a, long b, string path, string where)
    {
        try
        {
            return checked(a * b);
        }
        catch (OverflowException)
        {
            throw Error(path, where + "dims overflow a 64-bit size");
        }
    }

    private static string RequiredString(JsonElement element, string property, string path, string where) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw Error(path, where + $"{property} must be a string");

    private static long RequiredLong(JsonElement element, string property, string path, string where) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : throw Error(path, where + $"{property} must be an integer");

    private static double RequiredDouble(JsonElement element, string property, string path, string where) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number)
            ? number
            : throw Error(path, where + $"{property} must be a number");

    private static InvalidDataException Error(string path, string message) => new($"{path}: {message}.");
}
