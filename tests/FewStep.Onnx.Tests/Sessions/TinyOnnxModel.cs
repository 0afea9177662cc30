using Google.Protobuf;

namespace FewStep.Onnx.Tests.Sessions;

/// <summary>
/// Writes a one-node ONNX model (opset 17) straight to protobuf, so element-type paths (float16 tensors,
/// int32/int64/float/float16/double timesteps, scalar or vector) can be run without a model export tool.
/// Field numbers are onnx.proto's.
/// </summary>
internal static class TinyOnnxModel
{
    public const int Float = 1;
    public const int Int32 = 6;
    public const int Int64 = 7;
    public const int Float16 = 10;
    public const int Double = 11;

    /// <summary>A model with input <c>x</c> and output <c>y</c>: <c>y = Cast(x, to)</c> or, with <paramref name="castTo"/> null, <c>Identity(x)</c>.</summary>
    /// <param name="shape">Dimensions: a number is fixed, null is dynamic; an empty array is a scalar.</param>
    public static string Write(string directory, int inputType, int?[] shape, int? castTo = null)
    {
        var node = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.LengthDelimited);
            w.WriteString("x");
            w.WriteTag(2, WireFormat.WireType.LengthDelimited);
            w.WriteString("y");
            w.WriteTag(4, WireFormat.WireType.LengthDelimited);
            w.WriteString(castTo is null ? "Identity" : "Cast");
            if (castTo is { } to)
            {
                WriteMessage(w, 5, Message(a =>
                {
                    a.WriteTag(1, WireFormat.WireType.LengthDelimited);
                    a.WriteString("to");
                    a.WriteTag(3, WireFormat.WireType.Varint);
                    a.WriteInt64(to);
                    a.WriteTag(20, WireFormat.WireType.Varint);
                    a.WriteInt32(2); // AttributeProto.INT
                }));
            }
        });
        var graph = Message(w =>
        {
            WriteMessage(w, 1, node);
            w.WriteTag(2, WireFormat.WireType.LengthDelimited);
            w.WriteString("tiny");
            WriteMessage(w, 11, ValueInfo("x", inputType, shape));
            WriteMessage(w, 12, ValueInfo("y", castTo ?? inputType, shape));
        });
        var model = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.Varint);
            w.WriteInt64(8); // ir_version
            WriteMessage(w, 7, graph);
            WriteMessage(w, 8, Message(o =>
            {
                o.WriteTag(2, WireFormat.WireType.Varint);
                o.WriteInt64(17);
            }));
        });
        var path = Path.Combine(directory, $"tiny-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, model);
        return path;
    }

    private static byte[] ValueInfo(string name, int elementType, int?[] shape) => Message(w =>
    {
        w.WriteTag(1, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        WriteMessage(w, 2, Message(type => WriteMessage(type, 1, Message(tensor =>
        {
            tensor.WriteTag(1, WireFormat.WireType.Varint);
            tensor.WriteInt32(elementType);
            WriteMessage(tensor, 2, Message(s =>
            {
                foreach (var dim in shape)
                {
                    WriteMessage(s, 1, Message(d =>
                    {
                        if (dim is { } value)
                        {
                            d.WriteTag(1, WireFormat.WireType.Varint);
                            d.WriteInt64(value);
                        }
                        else
                        {
                            d.WriteTag(2, WireFormat.WireType.LengthDelimited);
                            d.WriteString("n");
                        }
                    }));
                }
            }));
        }))));
    });

    private static void WriteMessage(CodedOutputStream writer, int field, byte[] message)
    {
        writer.WriteTag(field, WireFormat.WireType.LengthDelimited);
        writer.WriteBytes(ByteString.CopyFrom(message));
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new CodedOutputStream(stream, leaveOpen: true))
        {
            write(writer);
        }

        return stream.ToArray();
    }
}
