using Google.Protobuf;

namespace FewStep.Onnx.Tests.Models;

/// <summary>
/// Writes ONNX protobuf messages by hand (field numbers are onnx.proto's), so external-data layouts that no export
/// tool in the test environment produces (subfolders, shards, attribute tensors, subgraphs) can be built exactly.
/// </summary>
internal static class OnnxProtoWriter
{
    public const int Float = 1;
    public const int UInt8 = 2;

    private const int AttributeTypeTensor = 4;
    private const int AttributeTypeGraph = 5;

    /// <summary>A TensorProto; with <paramref name="location"/> its data is external (<c>data_location</c> = EXTERNAL unless <paramref name="markExternal"/> is false).</summary>
    public static byte[] Tensor(string name, long[] dims, int dataType = Float, byte[]? raw = null, string? location = null,
        long? offset = null, long? length = null, bool markExternal = true) => Message(w =>
    {
        foreach (var dim in dims)
        {
            w.WriteTag(1, WireFormat.WireType.Varint);
            w.WriteInt64(dim);
        }

        w.WriteTag(2, WireFormat.WireType.Varint);
        w.WriteInt32(dataType);
        w.WriteTag(8, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        if (raw is not null)
        {
            w.WriteTag(9, WireFormat.WireType.LengthDelimited);
            w.WriteBytes(ByteString.CopyFrom(raw));
        }

        if (location is not null)
        {
            Field(w, 13, Entry("location", location));
            if (offset is { } o)
            {
                Field(w, 13, Entry("offset", o.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }

            if (length is { } l)
            {
                Field(w, 13, Entry("length", l.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }

            if (markExternal)
            {
                w.WriteTag(14, WireFormat.WireType.Varint);
                w.WriteEnum(1);
            }
        }
    });

    /// <summary>A StringStringEntryProto, key first (as every exporter writes it) unless <paramref name="valueFirst"/>.</summary>
    public static byte[] Entry(string key, string value, bool valueFirst = false) => Message(w =>
    {
        if (valueFirst)
        {
            w.WriteTag(2, WireFormat.WireType.LengthDelimited);
            w.WriteString(value);
        }

        w.WriteTag(1, WireFormat.WireType.LengthDelimited);
        w.WriteString(key);
        if (!valueFirst)
        {
            w.WriteTag(2, WireFormat.WireType.LengthDelimited);
            w.WriteString(value);
        }
    });

    /// <summary>A SparseTensorProto with the given values and indices tensors.</summary>
    public static byte[] SparseTensor(byte[] values, byte[] indices, long[] dims) => Message(w =>
    {
        Field(w, 1, values);
        Field(w, 2, indices);
        foreach (var dim in dims)
        {
            w.WriteTag(3, WireFormat.WireType.Varint);
            w.WriteInt64(dim);
        }
    });

    public static byte[] Node(string opType, string[] inputs, string[] outputs, params byte[][] attributes) => Message(w =>
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

        w.WriteTag(4, WireFormat.WireType.LengthDelimited);
        w.WriteString(opType);
        foreach (var attribute in attributes)
        {
            Field(w, 5, attribute);
        }
    });

    /// <summary>An AttributeProto of type TENSOR (field t), as Constant's <c>value</c>.</summary>
    public static byte[] TensorAttribute(string name, byte[] tensor) => Message(w =>
    {
        w.WriteTag(1, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        Field(w, 5, tensor);
        w.WriteTag(20, WireFormat.WireType.Varint);
        w.WriteEnum(AttributeTypeTensor);
    });

    /// <summary>An AttributeProto of type GRAPH (field g), as If's <c>then_branch</c>.</summary>
    public static byte[] GraphAttribute(string name, byte[] graph) => Message(w =>
    {
        w.WriteTag(1, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        Field(w, 6, graph);
        w.WriteTag(20, WireFormat.WireType.Varint);
        w.WriteEnum(AttributeTypeGraph);
    });

    public static byte[] Graph(string name, byte[][] nodes, byte[][] initializers, byte[][]? inputs = null, byte[][]? outputs = null,
        byte[][]? sparseInitializers = null) => Message(w =>
    {
        foreach (var node in nodes)
        {
            Field(w, 1, node);
        }

        w.WriteTag(2, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        foreach (var initializer in initializers)
        {
            Field(w, 5, initializer);
        }

        foreach (var input in inputs ?? [])
        {
            Field(w, 11, input);
        }

        foreach (var output in outputs ?? [])
        {
            Field(w, 12, output);
        }

        foreach (var sparse in sparseInitializers ?? [])
        {
            Field(w, 15, sparse);
        }
    });

    /// <summary>A ValueInfoProto of a tensor; a dimension of -1 is dynamic (a dim_param named after its position).</summary>
    public static byte[] ValueInfo(string name, int elementType, long[] dims) => Message(w =>
    {
        w.WriteTag(1, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        Field(w, 2, Message(type => Field(type, 1, Message(tensor =>
        {
            tensor.WriteTag(1, WireFormat.WireType.Varint);
            tensor.WriteInt32(elementType);
            Field(tensor, 2, Message(shape =>
            {
                for (var i = 0; i < dims.Length; i++)
                {
                    var dim = dims[i];
                    var position = i;
                    Field(shape, 1, Message(d =>
                    {
                        if (dim < 0)
                        {
                            d.WriteTag(2, WireFormat.WireType.LengthDelimited);
                            d.WriteString($"{name}_{position}");
                        }
                        else
                        {
                            d.WriteTag(1, WireFormat.WireType.Varint);
                            d.WriteInt64(dim);
                        }
                    }));
                }
            }));
        }))));
    });

    /// <summary>A FunctionProto (model-local function) with the given nodes.</summary>
    public static byte[] Function(string name, string domain, params byte[][] nodes) => Message(w =>
    {
        w.WriteTag(1, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        foreach (var node in nodes)
        {
            Field(w, 7, node);
        }

        w.WriteTag(10, WireFormat.WireType.LengthDelimited);
        w.WriteString(domain);
    });

    /// <summary>A ModelProto: IR version 8, opset 17, the graph, then any model-local functions.</summary>
    public static byte[] Model(byte[] graph, params byte[][] functions) => Message(w =>
    {
        ModelHeader(w);
        Field(w, 7, graph);
        Field(w, 8, Opset());
        foreach (var function in functions)
        {
            Field(w, 25, function);
        }
    });

    /// <summary>Writes <paramref name="model"/> as <paramref name="fileName"/> in <paramref name="directory"/> and returns its path.</summary>
    public static string Write(string directory, byte[] model, string fileName = "model.onnx")
    {
        var path = Path.Combine(directory, fileName);
        File.WriteAllBytes(path, model);
        return path;
    }

    /// <summary>
    /// Writes a model whose graph holds one inline UINT8 initializer of <paramref name="rawBytes"/> bytes followed by
    /// an external initializer in <paramref name="trailingLocation"/>, streaming the raw data to the file (its
    /// lengths are computed up front) so the test itself does not hold the large tensor in memory several times.
    /// </summary>
    public static void WriteLargeInlineModel(string path, int rawBytes, string trailingLocation)
    {
        var bigHeader = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.Varint);
            w.WriteInt64(rawBytes);
            w.WriteTag(2, WireFormat.WireType.Varint);
            w.WriteInt32(UInt8);
            w.WriteTag(8, WireFormat.WireType.LengthDelimited);
            w.WriteString("big");
        });
        var rawPrefix = Message(w =>
        {
            w.WriteTag(9, WireFormat.WireType.LengthDelimited);
            w.WriteLength(rawBytes);
        });
        var bigTensorLength = bigHeader.Length + rawPrefix.Length + rawBytes;
        var trailing = Message(w => Field(w, 5, Tensor("after", [4], location: trailingLocation, offset: 0, length: 16)));
        var graphHead = Message(w =>
        {
            w.WriteTag(2, WireFormat.WireType.LengthDelimited);
            w.WriteString("big");
            w.WriteTag(5, WireFormat.WireType.LengthDelimited);
            w.WriteLength(bigTensorLength);
        });
        var graphLength = graphHead.Length + bigTensorLength + trailing.Length;
        var modelHead = Message(w =>
        {
            ModelHeader(w);
            w.WriteTag(7, WireFormat.WireType.LengthDelimited);
            w.WriteLength(graphLength);
        });
        var modelTail = Message(w => Field(w, 8, Opset()));

        using var file = File.Create(path);
        file.Write(modelHead);
        file.Write(graphHead);
        file.Write(bigHeader);
        file.Write(rawPrefix);
        var chunk = new byte[1 << 20];
        for (var left = rawBytes; left > 0; left -= chunk.Length)
        {
            chunk.AsSpan().Fill((byte)(left & 0xFF));
            file.Write(chunk, 0, Math.Min(left, chunk.Length));
        }

        file.Write(trailing);
        file.Write(modelTail);
    }

    public static void Field(CodedOutputStream writer, int field, byte[] message)
    {
        writer.WriteTag(field, WireFormat.WireType.LengthDelimited);
        writer.WriteBytes(ByteString.CopyFrom(message));
    }

    public static byte[] Message(Action<CodedOutputStream> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new CodedOutputStream(stream, leaveOpen: true))
        {
            write(writer);
        }

        return stream.ToArray();
    }

    private static void ModelHeader(CodedOutputStream w)
    {
        w.WriteTag(1, WireFormat.WireType.Varint);
        w.WriteInt64(8); // ir_version
        w.WriteTag(2, WireFormat.WireType.LengthDelimited);
        w.WriteString("FewStep.Onnx.Tests");
    }

    private static byte[] Opset() => Message(o =>
    {
        o.WriteTag(2, WireFormat.WireType.Varint);
        o.WriteInt64(17);
    });
}
