using Google.Protobuf;
using static FewStep.Onnx.Tests.Models.OnnxProtoWriter;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>Small hand-written ONNX graphs (opset 17) with named nodes, for the merge's layouts and error paths.</summary>
internal static class SyntheticModels
{
    public const int Float16Data = 10;
    public const int BFloat16Data = 16;

    private const int AttributeFloat = 1;
    private const int AttributeInt = 2;
    private const int AttributeInts = 7;

    /// <summary>A NodeProto with a name (the exporter's scope path), op type and attributes.</summary>
    public static byte[] NamedNode(string name, string opType, string[] inputs, string[] outputs, params byte[][] attributes) =>
        NamedNode(name, opType, inputs, outputs, domain: null, attributes);

    public static byte[] NamedNode(string name, string opType, string[] inputs, string[] outputs, string? domain, params byte[][] attributes) => Message(w =>
    {
        foreach (var input in inputs)
        {
            w.WriteTag(1, WireFormat.WireType.LengthDelimited);
            w.WriteString(input);
        }

        foreach (var output in outputs)
        {
            w.WriteTag(2, WireFormat.WireType.LengthDelimited);
            w.WriteString(output);
        }

        w.WriteTag(3, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        w.WriteTag(4, WireFormat.WireType.LengthDelimited);
        w.WriteString(opType);
        foreach (var attribute in attributes)
        {
            Field(w, 5, attribute);
        }

        if (domain is not null)
        {
            w.WriteTag(7, WireFormat.WireType.LengthDelimited);
            w.WriteString(domain);
        }
    });

    public static byte[] IntAttribute(string name, long value) => Message(w =>
    {
        w.WriteTag(1, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        w.WriteTag(3, WireFormat.WireType.Varint);
        w.WriteInt64(value);
        w.WriteTag(20, WireFormat.WireType.Varint);
        w.WriteEnum(AttributeInt);
    });

    public static byte[] IntsAttribute(string name, params long[] values) => Message(w =>
    {
        w.WriteTag(1, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        foreach (var value in values)
        {
            w.WriteTag(8, WireFormat.WireType.Varint);
            w.WriteInt64(value);
        }

        w.WriteTag(20, WireFormat.WireType.Varint);
        w.WriteEnum(AttributeInts);
    });

    public static byte[] FloatAttribute(string name, float value) => Message(w =>
    {
        w.WriteTag(1, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        w.WriteTag(2, WireFormat.WireType.Fixed32);
        w.WriteFloat(value);
        w.WriteTag(20, WireFormat.WireType.Varint);
        w.WriteEnum(AttributeFloat);
    });

    /// <summary>A TensorProto with typed values: float_data (packed or one field per value) or int32_data for 16-bit types.</summary>
    public static byte[] TypedTensor(string name, long[] dims, int dataType, float[]? floats = null, ushort[]? halves = null, bool packed = true) => Message(w =>
    {
        foreach (var dim in dims)
        {
            w.WriteTag(1, WireFormat.WireType.Varint);
            w.WriteInt64(dim);
        }

        w.WriteTag(2, WireFormat.WireType.Varint);
        w.WriteInt32(dataType);
        if (floats is not null)
        {
            WriteRepeated(w, 4, packed, WireFormat.WireType.Fixed32, floats.Length, (o, i) => o.WriteFloat(floats[i]));
        }

        if (halves is not null)
        {
            WriteRepeated(w, 5, packed, WireFormat.WireType.Varint, halves.Length, (o, i) => o.WriteInt32(halves[i]));
        }

        w.WriteTag(8, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
    });

    public static byte[] HalfBytes(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), BitConverter.HalfToUInt16Bits((Half)values[i]));
        }

        return bytes;
    }

    /// <summary>float32 rounded to float16 and back, as a merged float16 weight holds it.</summary>
    public static float[] ThroughHalf(IEnumerable<float> values) => [.. values.Select(v => (float)(Half)v)];

    private static void WriteRepeated(CodedOutputStream w, int field, bool packed, WireFormat.WireType wire, int count, Action<CodedOutputStream, int> write)
    {
        if (packed)
        {
            w.WriteTag(field, WireFormat.WireType.LengthDelimited);
            w.WriteBytes(ByteString.CopyFrom(Message(inner =>
            {
                for (var i = 0; i < count; i++)
                {
                    write(inner, i);
                }
            })));
            return;
        }

        for (var i = 0; i < count; i++)
        {
            w.WriteTag(field, wire);
            write(w, i);
        }
    }
}
