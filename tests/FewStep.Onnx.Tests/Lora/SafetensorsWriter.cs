using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>One tensor for <see cref="SafetensorsWriter"/>: name, dtype as safetensors writes it, shape and raw little-endian bytes.</summary>
internal sealed record SafetensorsEntry(string Name, string DType, int[] Shape, byte[] Data);

/// <summary>
/// Writes safetensors files for the tests: well-formed ones as the reference implementation lays them out (8-byte
/// header length, JSON header, tensors back to back), and raw ones from a header written by hand, to break.
/// </summary>
internal static class SafetensorsWriter
{
    public static string Write(string path, IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var json = new MemoryStream();
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is not null)
            {
                writer.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            foreach (var tensor in tensors)
            {
                writer.WriteStartObject(tensor.Name);
                writer.WriteString("dtype", tensor.DType);
                writer.WriteStartArray("shape");
                foreach (var dim in tensor.Shape)
                {
                    writer.WriteNumberValue(dim);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(buffer.Length);
                buffer.Write(tensor.Data);
                writer.WriteNumberValue(buffer.Length);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return WriteRaw(path, Encoding.UTF8.GetString(json.ToArray()), buffer.ToArray());
    }

    /// <summary>A file from a header written by hand; <paramref name="headerLength"/> overrides the length prefix.</summary>
    public static string WriteRaw(string path, string header, byte[] buffer, ulong? headerLength = null)
    {
        var headerBytes = Encoding.UTF8.GetBytes(header);
        using var file = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, headerLength ?? (ulong)headerBytes.Length);
        file.Write(prefix);
        file.Write(headerBytes);
        file.Write(buffer);
        return path;
    }

    public static SafetensorsEntry F32(string name, int[] shape, params float[] values) => new(name, "F32", shape, Bytes(values, 4,
        (span, v) => BinaryPrimitives.WriteSingleLittleEndian(span, v)));

    public static SafetensorsEntry F16(string name, int[] shape, params float[] values) => new(name, "F16", shape, Bytes(values, 2,
        (span, v) => BinaryPrimitives.WriteHalfLittleEndian(span, (Half)v)));

    /// <summary>bfloat16 by truncation: the tests pass values that bfloat16 holds exactly.</summary>
    public static SafetensorsEntry BF16(string name, int[] shape, params float[] values) => new(name, "BF16", shape, Bytes(values, 2,
        (span, v) => BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16))));

    public static SafetensorsEntry F64(string name, int[] shape, params double[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        }

        return new SafetensorsEntry(name, "F64", shape, bytes);
    }

    /// <summary>A float32 tensor of the given shape with distinct, deterministic values.</summary>
    public static SafetensorsEntry Ramp(string name, params int[] shape)
    {
        var count = shape.Aggregate(1, (n, d) => n * d);
        return F32(name, shape, Enumerable.Range(0, count).Select(i => (i % 17 - 8) / 16f).ToArray());
    }

    private static byte[] Bytes(float[] values, int size, SpanWriter write)
    {
        var bytes = new byte[values.Length * size];
        for (var i = 0; i < values.Length; i++)
        {
            write(bytes.AsSpan(i * size, size), values[i]);
        }

        return bytes;
    }

    private delegate void SpanWriter(Span<byte> span, float value);
}
