using Google.Protobuf;

namespace FewStep.Cli.Tests;

/// <summary>
/// Rewrites an ONNX model so its large initializers live in external-data files, as real exports of multi-GB
/// models do: each tensor's <c>raw_data</c> moves to one of <paramref name="files"/> (round-robin), and the tensor
/// gets <c>data_location = EXTERNAL</c> and <c>location</c>/<c>offset</c>/<c>length</c> entries. ONNX Runtime loads the
/// result like the original. Field numbers from onnx.proto: ModelProto.graph 7, GraphProto.initializer 5,
/// TensorProto.raw_data 9, external_data 13, data_location 14, StringStringEntryProto key 1 / value 2.
/// </summary>
internal static class ExternalDataExport
{
    public static (byte[] Model, Dictionary<string, byte[]> Data) Split(byte[] model, IReadOnlyList<string> files, int threshold = 1024)
    {
        var data = files.ToDictionary(f => f, _ => new MemoryStream(), StringComparer.Ordinal);
        var next = 0;
        var rewritten = Rewrite(model, 7, graph => Rewrite(graph, 5, tensor => MoveRawData(tensor, () => files[next++ % files.Count], data, threshold)));
        return (rewritten, data.ToDictionary(d => d.Key, d => d.Value.ToArray(), StringComparer.Ordinal));
    }

    // Copies a message field by field, passing the bytes of every length-delimited field number `field` through `change`.
    private static byte[] Rewrite(byte[] message, int field, Func<byte[], byte[]> change)
    {
        var input = new CodedInputStream(message);
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var number = WireFormat.GetTagFieldNumber(tag);
            switch (WireFormat.GetTagWireType(tag))
            {
                case WireFormat.WireType.Varint:
                    output.WriteTag(tag);
                    output.WriteUInt64(input.ReadUInt64());
                    break;
                case WireFormat.WireType.Fixed64:
                    output.WriteTag(tag);
                    output.WriteFixed64(input.ReadFixed64());
                    break;
                case WireFormat.WireType.Fixed32:
                    output.WriteTag(tag);
                    output.WriteFixed32(input.ReadFixed32());
                    break;
                case WireFormat.WireType.LengthDelimited:
                    var bytes = input.ReadBytes().ToByteArray();
                    output.WriteTag(tag);
                    output.WriteBytes(ByteString.CopyFrom(number == field ? change(bytes) : bytes));
                    break;
                default:
                    throw new InvalidDataException($"unexpected wire type in tag {tag}");
            }
        }

        output.Flush();
        return buffer.ToArray();
    }

    private static byte[] MoveRawData(byte[] tensor, Func<string> nextFile, Dictionary<string, MemoryStream> data, int threshold)
    {
        var input = new CodedInputStream(tensor);
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        byte[]? raw = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var number = WireFormat.GetTagFieldNumber(tag);
            var type = WireFormat.GetTagWireType(tag);
            if (number == 9 && type == WireFormat.WireType.LengthDelimited)
            {
                var bytes = input.ReadBytes().ToByteArray();
                if (bytes.Length >= threshold)
                {
                    raw = bytes;
                }
                else
                {
                    output.WriteTag(tag);
                    output.WriteBytes(ByteString.CopyFrom(bytes));
                }

                continue;
            }

            output.WriteTag(tag);
            switch (type)
            {
                case WireFormat.WireType.Varint:
                    output.WriteUInt64(input.ReadUInt64());
                    break;
                case WireFormat.WireType.Fixed64:
                    output.WriteFixed64(input.ReadFixed64());
                    break;
                case WireFormat.WireType.Fixed32:
                    output.WriteFixed32(input.ReadFixed32());
                    break;
                default:
                    output.WriteBytes(input.ReadBytes());
                    break;
            }
        }

        if (raw is not null)
        {
            var file = nextFile();
            var stream = data[file];
            while (stream.Length % 64 != 0)
            {
                stream.WriteByte(0);
            }

            var offset = stream.Length;
            stream.Write(raw);
            foreach (var (key, value) in new[] { ("location", file), ("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("length", raw.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)) })
            {
                using var entryBuffer = new MemoryStream();
                var entry = new CodedOutputStream(entryBuffer);
                entry.WriteTag(1, WireFormat.WireType.LengthDelimited);
                entry.WriteString(key);
                entry.WriteTag(2, WireFormat.WireType.LengthDelimited);
                entry.WriteString(value);
                entry.Flush();
                output.WriteTag(13, WireFormat.WireType.LengthDelimited);
                output.WriteBytes(ByteString.CopyFrom(entryBuffer.ToArray()));
            }

            output.WriteTag(14, WireFormat.WireType.Varint);
            output.WriteEnum(1);
        }

        output.Flush();
        return buffer.ToArray();
    }
}
