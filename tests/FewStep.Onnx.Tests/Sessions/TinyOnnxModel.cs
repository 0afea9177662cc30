using Google.Protobuf;

namespace FewStep.Onnx.Tests.Sessions;

/// <summary>
/// Writes a small ONNX model (opset 17) straight to protobuf, so element-type paths (float16 tensors,
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
    public static string Write(string directory, int inputType, int?[] shape, int? castTo = null) => Write(
        directory,
        [new Node(castTo is null ? "Identity" : "Cast", ["x"], ["y"], castTo)],
        [new Value("x", inputType, shape)],
        [new Value("y", castTo ?? inputType, shape)]);

    /// <summary>A node of <see cref="Write(string, Node[], Value[], Value[])"/>; <paramref name="To"/> is a Cast's <c>to</c>.</summary>
    public sealed record Node(string OpType, string[] Inputs, string[] Outputs, int? To = null);

    /// <summary>A graph input or output: name, element type, dimensions (null: dynamic).</summary>
    public sealed record Value(string Name, int ElementType, int?[] Shape);

    /// <summary>A model of <paramref name="nodes"/> (in order) from <paramref name="inputs"/> to <paramref name="outputs"/>.</summary>
    public static string Write(string directory, Node[] nodes, Value[] inputs, Value[] outputs)
    {
        var graph = Message(w =>
        {
            foreach (var node in nodes)
            {
                WriteMessage(w, 1, NodeProto(node));
            }

            w.WriteTag(2, WireFormat.WireType.LengthDelimited);
            w.WriteString("tiny");
            foreach (var input in inputs)
            {
                WriteMessage(w, 11, ValueInfo(input.Name, input.ElementType, input.Shape));
            }

            foreach (var output in outputs)
            {
                WriteMessage(w, 12, ValueInfo(output.Name, output.ElementType, output.Shape));
            }
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

    private static byte[] NodeProto(Node node) => Message(w =>
    {
        foreach (var input in node.Inputs)
        {
            w.WriteTag(1, WireFormat.WireType.LengthDelimited);
            w.WriteString(input);
        }

        foreach (var output in node.Outputs)
        {
            w.WriteTag(2, WireFormat.WireType.LengthDelimited);
            w.WriteString(output);
        }

        w.WriteTag(4, WireFormat.WireType.LengthDelimited);
        w.WriteString(node.OpType);
        if (node.To is { } to)
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
