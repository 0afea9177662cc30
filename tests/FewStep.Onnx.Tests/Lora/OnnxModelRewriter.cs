using FewStep.Onnx.Tests.Models;
using Google.Protobuf;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// Parses an ONNX model completely with Google.Protobuf's wire reader (independently of FewStep's streaming
/// reader) to read initializers' raw_data or write a copy with some initializers' values replaced: the reference
/// a merged session is compared with. Field numbers are onnx.proto's (ModelProto.graph 7, GraphProto.initializer
/// 5, TensorProto name 8, raw_data 9, float_data 4, int32_data 5, external_data 13, data_location 14).
/// </summary>
internal static class OnnxModelRewriter
{
    /// <summary>A copy of <paramref name="model"/> in which each named initializer holds the given raw_data (inline).</summary>
    public static byte[] ReplaceInitializers(byte[] model, IReadOnlyDictionary<string, byte[]> rawData)
    {
        var replaced = new HashSet<string>(StringComparer.Ordinal);
        var result = Rewrite(model, (field, value) => field == 7 ? RewriteGraph(value, rawData, replaced) : value);
        Assert.Equal(rawData.Keys.Order(StringComparer.Ordinal), replaced.Order(StringComparer.Ordinal));
        return result;
    }

    /// <summary>
    /// Writes <paramref name="model"/> as exporters write large models: each initializer's raw_data moved into
    /// <c>model.onnx_data</c> beside <c>model.onnx</c> in <paramref name="directory"/>; returns the model's path.
    /// </summary>
    public static string WriteWithExternalWeights(byte[] model, string directory)
    {
        using var data = new MemoryStream();
        var graphRewritten = Rewrite(model, (field, graph) => field != 7 ? graph : ByteString.CopyFrom(Rewrite(graph.ToByteArray(), (graphField, tensor) =>
        {
            if (graphField != 5)
            {
                return tensor;
            }

            var fields = Fields(tensor).ToList();
            var raw = fields.Where(f => f.Field == 9).Select(f => f.Value.ToByteArray()).SingleOrDefault();
            if (raw is null)
            {
                return tensor;
            }

            var offset = data.Length;
            data.Write(raw);
            return ByteString.CopyFrom(OnnxProtoWriter.Message(w =>
            {
                foreach (var (f, wire, value) in fields.Where(f => f.Field != 9))
                {
                    WriteField(w, f, wire, value);
                }

                foreach (var (key, value) in new[] { ("location", "model.onnx_data"), ("offset", $"{offset}"), ("length", $"{raw.Length}") })
                {
                    OnnxProtoWriter.Field(w, 13, OnnxProtoWriter.Entry(key, value));
                }

                w.WriteTag(14, WireFormat.WireType.Varint);
                w.WriteInt32(1);
            }));
        })));
        File.WriteAllBytes(Path.Combine(directory, "model.onnx_data"), data.ToArray());
        var path = Path.Combine(directory, "model.onnx");
        File.WriteAllBytes(path, graphRewritten);
        return path;
    }

    /// <summary>The raw_data of every top-level initializer that has one.</summary>
    public static Dictionary<string, byte[]> ReadRawData(byte[] model)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (field, _, graph) in Fields(model))
        {
            if (field != 7)
            {
                continue;
            }

            foreach (var (graphField, _, tensor) in Fields(graph))
            {
                if (graphField != 5)
                {
                    continue;
                }

                var fields = Fields(tensor).ToList();
                var name = fields.Where(f => f.Field == 8).Select(f => f.Value.ToStringUtf8()).SingleOrDefault();
                var raw = fields.Where(f => f.Field == 9).Select(f => f.Value.ToByteArray()).SingleOrDefault();
                if (name is not null && raw is not null)
                {
                    result[name] = raw;
                }
            }
        }

        return result;
    }

    private static ByteString RewriteGraph(ByteString graph, IReadOnlyDictionary<string, byte[]> rawData, HashSet<string> replaced) =>
        ByteString.CopyFrom(Rewrite(graph.ToByteArray(), (field, tensor) =>
        {
            if (field != 5)
            {
                return tensor;
            }

            var fields = Fields(tensor).ToList();
            var name = fields.Where(f => f.Field == 8).Select(f => f.Value.ToStringUtf8()).SingleOrDefault();
            if (name is null || !rawData.TryGetValue(name, out var values))
            {
                return tensor;
            }

            replaced.Add(name);
            return ByteString.CopyFrom(OnnxProtoWriter.Message(w =>
            {
                foreach (var (f, wire, value) in fields.Where(f => f.Field is not (4 or 5 or 9 or 13 or 14)))
                {
                    WriteField(w, f, wire, value);
                }

                w.WriteTag(9, WireFormat.WireType.LengthDelimited);
                w.WriteBytes(ByteString.CopyFrom(values));
            }));
        }));

    /// <summary>Copies a message field by field, passing each length-delimited field's bytes through <paramref name="map"/>.</summary>
    private static byte[] Rewrite(byte[] message, Func<int, ByteString, ByteString> map) => OnnxProtoWriter.Message(w =>
    {
        foreach (var (field, wire, value) in Fields(message))
        {
            WriteField(w, field, wire, wire == WireFormat.WireType.LengthDelimited ? map(field, value) : value);
        }
    });

    /// <summary>Every field: number, wire type and value (length-delimited: the payload; others: 8 little-endian bytes).</summary>
    private static List<(int Field, WireFormat.WireType Wire, ByteString Value)> Fields(ByteString message) => Fields(message.ToByteArray());

    private static List<(int Field, WireFormat.WireType Wire, ByteString Value)> Fields(byte[] message)
    {
        var input = new CodedInputStream(message);
        var fields = new List<(int, WireFormat.WireType, ByteString)>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            var wire = WireFormat.GetTagWireType(tag);
            var value = wire switch
            {
                WireFormat.WireType.LengthDelimited => input.ReadBytes(),
                WireFormat.WireType.Varint => Scalar(input.ReadUInt64()),
                WireFormat.WireType.Fixed32 => Scalar(input.ReadFixed32()),
                WireFormat.WireType.Fixed64 => Scalar(input.ReadFixed64()),
                _ => throw new InvalidDataException($"wire type {wire}"),
            };
            fields.Add((field, wire, value));
        }

        return fields;
    }

    private static ByteString Scalar(ulong value) => ByteString.CopyFrom(BitConverter.GetBytes(value));

    private static void WriteField(CodedOutputStream w, int field, WireFormat.WireType wire, ByteString value)
    {
        w.WriteTag(field, wire);
        var scalar = wire == WireFormat.WireType.LengthDelimited ? 0 : BitConverter.ToUInt64(value.Span);
        switch (wire)
        {
            case WireFormat.WireType.LengthDelimited:
                w.WriteBytes(value);
                break;
            case WireFormat.WireType.Varint:
                w.WriteUInt64(scalar);
                break;
            case WireFormat.WireType.Fixed32:
                w.WriteFixed32((uint)scalar);
                break;
            default:
                w.WriteFixed64(scalar);
                break;
        }
    }
}
