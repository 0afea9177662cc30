using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using FewStep.Onnx.Models;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FewStep.Onnx.Lora;

/// <summary>
/// Reads a weight's values from wherever the model keeps them (inline <c>raw_data</c>, typed fields, or an
/// external file) and converts between its element type and float32. ONNX stores tensors little-endian.
/// </summary>
internal static class OnnxWeightData
{
    private const int FloatData = 4;
    private const int Int32Data = 5;

    /// <summary>Bytes per element of the weight types that can be merged.</summary>
    public static int ElementSize(TensorElementType type) => type switch
    {
        TensorElementType.Float => 4,
        TensorElementType.Float16 or TensorElementType.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a mergeable weight type"),
    };

    /// <summary>The weight as float32 (float16 and bfloat16 widened exactly).</summary>
    public static float[] ReadAsFloat(string modelPath, OnnxWeightLayer layer) =>
        ReadAsFloat(modelPath, layer, new float[checked((int)layer.ElementCount)]);

    /// <summary>Reads the weight into <paramref name="values"/> (of the weight's element count) and returns it.</summary>
    public static float[] ReadAsFloat(string modelPath, OnnxWeightLayer layer, float[] values)
    {
        EnsureLittleEndian();
        var count = values.Length;
        if (layer.Storage.Kind == OnnxTensorStorageKind.TypedData)
        {
            ReadTyped(modelPath, layer, values);
            return values;
        }

        if (layer.ElementType == TensorElementType.Float)
        {
            ReadBytes(modelPath, layer, MemoryMarshal.AsBytes(values.AsSpan()));
            return values;
        }

        var narrow = new ushort[count];
        ReadBytes(modelPath, layer, MemoryMarshal.AsBytes(narrow.AsSpan()));
        Widen(layer.ElementType, narrow, values);
        return values;
    }

    /// <summary>float16 (exact) or bfloat16 (exact: the upper half of a float32) to float32.</summary>
    public static void Widen(TensorElementType type, ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (type == TensorElementType.Float16)
        {
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(source), destination);
            return;
        }

        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = BitConverter.UInt32BitsToSingle((uint)source[i] << 16);
        }
    }

    /// <summary>float32 to float16 (IEEE round to nearest even, as a (Half) cast) or bfloat16 (round to nearest even).</summary>
    public static void Narrow(TensorElementType type, ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (type == TensorElementType.Float16)
        {
            TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<ushort, Half>(destination));
            return;
        }

        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = ToBFloat16(source[i]);
        }
    }

    /// <summary>bfloat16 of a float: round to nearest, ties to even; NaN stays a (quiet) NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040);
        }

        var roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    private static void ReadBytes(string modelPath, OnnxWeightLayer layer, Span<byte> destination)
    {
        var storage = layer.Storage;
        var (path, offset) = storage.Kind == OnnxTensorStorageKind.External
            ? (ExternalPath(modelPath, storage.Location!), storage.Offset)
            : (modelPath, storage.Offset);
        if (storage.Length is { } length && length != destination.Length)
        {
            throw new InvalidDataException(
                $"The ONNX model '{modelPath}' stores {length} bytes for '{layer.InitializerName}' " +
                $"(dims [{string.Join(", ", layer.Dims)}], {layer.ElementType}), which needs {destination.Length}.");
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        if (offset + destination.Length > stream.Length)
        {
            throw new InvalidDataException(
                $"'{path}' ends at byte {stream.Length}, before the {destination.Length} bytes of '{layer.InitializerName}' " +
                $"at offset {offset} that the ONNX model '{modelPath}' names.");
        }

        stream.Seek(offset, SeekOrigin.Begin);
        stream.ReadExactly(destination);
    }

    /// <summary>An external-data file beside the model; the location was validated when read (relative, no "..").</summary>
    private static string ExternalPath(string modelPath, string location)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        var path = Path.Combine(folder, location.Replace('/', Path.DirectorySeparatorChar));
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"The external-data file '{location}' that the ONNX model '{modelPath}' names is missing.", path);
    }

    /// <summary>float_data (float32) or int32_data (float16 / bfloat16 bits), packed or not, from the tensor's message.</summary>
    private static void ReadTyped(string modelPath, OnnxWeightLayer layer, float[] values)
    {
        using var stream = new FileStream(modelPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        stream.Seek(layer.Storage.Offset, SeekOrigin.Begin);

        // The storage spans the initializer field's length prefix and payload; this reader counts from there.
        var reader = new ProtobufWireReader(stream, modelPath);
        var end = layer.Storage.Length!.Value;
        _ = reader.ReadLength(end);
        var isFloat = layer.ElementType == TensorElementType.Float;
        var narrow = isFloat ? null : new ushort[values.Length];
        var (wanted, unpackedWire) = isFloat ? (FloatData, ProtobufWireReader.WireFixed32) : (Int32Data, ProtobufWireReader.WireVarint);
        var count = 0;
        while (reader.TryReadTag(end, out var field, out var wire))
        {
            if (field != wanted)
            {
                reader.SkipField(wire, end);
                continue;
            }

            if (wire != unpackedWire && wire != ProtobufWireReader.WireLengthDelimited)
            {
                throw reader.Malformed($"wire type {wire} for the values of '{layer.InitializerName}'", reader.Position);
            }

            var fieldEnd = wire == ProtobufWireReader.WireLengthDelimited ? reader.ReadLength(end) + reader.Position : -1;
            do
            {
                if (fieldEnd >= 0 && reader.Position >= fieldEnd)
                {
                    break;
                }

                if (count == values.Length)
                {
                    throw Mismatch(modelPath, layer, "more");
                }

                if (narrow is null)
                {
                    values[count++] = BitConverter.UInt32BitsToSingle(reader.ReadFixed32(end));
                }
                else
                {
                    narrow[count++] = (ushort)reader.ReadVarint();
                }
            }
            while (fieldEnd >= 0);
        }

        if (count != values.Length)
        {
            throw Mismatch(modelPath, layer, "fewer");
        }

        if (narrow is not null)
        {
            Widen(layer.ElementType, narrow, values);
        }
    }

    private static InvalidDataException Mismatch(string modelPath, OnnxWeightLayer layer, string what) =>
        new($"The ONNX model '{modelPath}' stores {what} values for '{layer.InitializerName}' than its dims " +
            $"[{string.Join(", ", layer.Dims)}] hold.");

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX tensors are little-endian; reading them on a big-endian machine is not supported.");
        }
    }
}
