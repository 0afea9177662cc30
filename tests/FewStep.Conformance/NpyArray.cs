using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace FewStep.Conformance;

/// <summary>
/// A C-order little-endian <c>.npy</c> array (float32, float64, int32 or int64), read into doubles.
/// Hand-written because no maintained .NET package reads .npy without pulling in a whole numpy port; the format
/// is a short text header and raw values (numpy's NEP 1).
/// </summary>
internal sealed partial class NpyArray
{
    private NpyArray(string path, string dtype, int[] shape, double[] values)
    {
        Path = path;
        DType = dtype;
        Shape = shape;
        Values = values;
    }

    public string Path { get; }

    public string DType { get; }

    public int[] Shape { get; }

    public double[] Values { get; }

    public bool IsInteger => DType is "<i8" or "<i4";

    public static NpyArray Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
        {
            throw new InvalidDataException($"'{path}' is not a .npy file.");
        }

        var major = bytes[6];
        var headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)) : (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        var headerStart = major == 1 ? 10 : 12;
        var header = Encoding.ASCII.GetString(bytes, headerStart, headerLength);
        var dtype = DescrPattern().Match(header).Groups[1].Value;
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{path}' is in Fortran order; the conformance format is C order.");
        }

        var shapeText = ShapePattern().Match(header).Groups[1].Value;
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var count = shape.Aggregate(1, (a, b) => a * b);
        var data = bytes.AsSpan(headerStart + headerLength);
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = dtype switch
            {
                "<f4" => BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..]),
                "<f8" => BinaryPrimitives.ReadDoubleLittleEndian(data[(i * 8)..]),
                "<i4" => BinaryPrimitives.ReadInt32LittleEndian(data[(i * 4)..]),
                "<i8" => BinaryPrimitives.ReadInt64LittleEndian(data[(i * 8)..]),
                _ => throw new InvalidDataException($"'{path}' has dtype {dtype}; expected <f4, <f8, <i4 or <i8."),
            };
        }

        return new NpyArray(path, dtype, shape, values);
    }

    public float[] ToFloats() => Values.Select(v => (float)v).ToArray();

    [GeneratedRegex(@"'descr':\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
