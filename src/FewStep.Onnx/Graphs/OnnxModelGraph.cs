using System.Buffers.Binary;
using Google.Protobuf;

namespace FewStep.Onnx.Graphs;

/// <summary>
/// An ONNX <c>ModelProto</c> held as its bytes, with the top-level graph's nodes parsed: enough to replace some
/// nodes with others and write the model again, copying every other field (initializers included) byte for byte.
/// Field numbers are onnx.proto's.
/// </summary>
/// <remarks>
/// Google.Protobuf reads and writes the wire format; there are no generated ONNX classes because a generated parser
/// would materialise every initializer's raw_data as a second copy, and only the nodes are needed here.
/// </remarks>
internal sealed partial class OnnxModelGraph
{
    private const int ModelGraph = 7;
    private const int ModelOpsetImport = 8;
    private const int OpsetDomain = 1;
    private const int OpsetVersion = 2;
    private const int GraphNode = 1;
    private const int GraphInitializer = 5;
    private const int GraphInput = 11;
    private const int GraphOutput = 12;
    private const int GraphValueInfo = 13;
    private const int ValueInfoName = 1;
    private const int NodeInput = 1;
    private const int NodeOutput = 2;
    private const int NodeName = 3;
    private const int NodeOpType = 4;
    private const int NodeAttribute = 5;
    private const int NodeDomain = 7;
    private const int AttributeName = 1;
    private const int AttributeFloat = 2;
    private const int AttributeInt = 3;
    private const int AttributeTensor = 5;
    private const int AttributeGraph = 6;
    private const int AttributeInts = 8;
    private const int AttributeGraphs = 11;
    private const int AttributeType = 20;
    private const int AttributeTypeFloat = 1;
    private const int AttributeTypeInt = 2;
    private const int TensorDims = 1;
    private const int TensorDataType = 2;
    private const int TensorFloatData = 4;
    private const int TensorInt64Data = 7;
    private const int TensorName = 8;
    private const int TensorRawData = 9;

    /// <summary>ONNX TensorProto.DataType values.</summary>
    public const int Float = 1;
    public const int Float16 = 10;
    public const int Int64 = 7;

    private readonly byte[] _bytes;
    private readonly List<Field> _modelFields = [];
    private readonly List<Field> _graphFields = [];
    private readonly Dictionary<string, OnnxNode> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<OnnxNode>> _consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Field> _initializers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _graphOutputs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _opsetDomains = new(StringComparer.Ordinal);

    private OnnxModelGraph(byte[] bytes, string source)
    {
        _bytes = bytes;
        Source = source;
    }

    /// <summary>The file the bytes came from, for messages.</summary>
    public string Source { get; }

    public List<OnnxNode> Nodes { get; } = [];

    /// <summary>True when some node holds a subgraph (If, Loop, Scan): names used inside it are not tracked here.</summary>
    public bool HasSubgraphs { get; private set; }

    public static OnnxModelGraph Parse(byte[] bytes, string source)
    {
        var model = new OnnxModelGraph(bytes, source);
        try
        {
            model.ParseModel();
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidDataException)
        {
            throw new InvalidDataException($"'{source}' is not a readable ONNX model: {e.Message}", e);
        }

        return model;
    }

    public OnnxNode? Producer(string name) => _producers.GetValueOrDefault(name);

    public IReadOnlyList<OnnxNode> Consumers(string name) => _consumers.TryGetValue(name, out var list) ? list : [];

    public bool IsGraphOutput(string name) => _graphOutputs.Contains(name);

    /// <summary>The single value of a constant (a <c>Constant</c> node's tensor or an initializer with one element), or null.</summary>
    public double? ScalarConstant(string name)
    {
        if (Producer(name) is { OpType: "Constant", Domain: "" } constant &&
            constant.Attributes.TryGetValue("value", out var attribute) && attribute.Tensor is { } tensor)
        {
            return Scalar(tensor.Start, tensor.End);
        }

        return _initializers.TryGetValue(name, out var initializer) ? Scalar(initializer.ValueStart, initializer.End) : null;
    }

    /// <summary>The element type of an initializer (ONNX data_type), or null if <paramref name="name"/> is not one.</summary>
    public int? InitializerType(string name) => _initializers.TryGetValue(name, out var initializer) ? IntField(initializer, TensorDataType) : null;

    /// <summary>
    /// Writes the model with <paramref name="removed"/> nodes left out and each <paramref name="inserted"/> node
    /// (NodeProto bytes) written where the given node stood, then nodes no graph output depends on swept away;
    /// <paramref name="domain"/> is added to the opset imports when missing.
    /// </summary>
    public byte[] Write(IReadOnlySet<OnnxNode> removed, IReadOnlyDictionary<OnnxNode, byte[]> inserted, (string Domain, long Version)? domain)
    {
        var live = LiveNodes(removed, inserted);
        using var graph = new MemoryStream();
        foreach (var field in _graphFields)
        {
            if (field.Number != GraphNode)
            {
                Copy(graph, field);
                continue;
            }

            var node = Nodes[field.NodeIndex];
            if (inserted.TryGetValue(node, out var replacement))
            {
                WriteLengthDelimited(graph, GraphNode, replacement);
            }

            if (!removed.Contains(node) && live.Contains(node))
            {
                Copy(graph, field);
            }
        }

        return ModelWith(graph, domain);
    }

    // The model's own fields as they are, with `graph` (GraphProto bytes) for its graph and `domain` added to the opset
    // imports when missing.
    private byte[] ModelWith(MemoryStream graph, (string Domain, long Version)? domain = null)
    {
        using var model = new MemoryStream(_bytes.Length);
        foreach (var field in _modelFields)
        {
            if (field.Number == ModelGraph)
            {
                WriteLengthDelimited(model, ModelGraph, graph.GetBuffer().AsSpan(0, (int)graph.Length));
                continue;
            }

            Copy(model, field);
        }

        if (domain is { } add && !_opsetDomains.Contains(add.Domain))
        {
            WriteLengthDelimited(model, ModelOpsetImport, Message(w =>
            {
                w.WriteTag(OpsetDomain, WireFormat.WireType.LengthDelimited);
                w.WriteString(add.Domain);
                w.WriteTag(OpsetVersion, WireFormat.WireType.Varint);
                w.WriteInt64(add.Version);
            }));
        }

        return model.ToArray();
    }

    /// <summary>A NodeProto with int and float attributes.</summary>
    public static byte[] NodeBytes(string opType, string domain, string name, IEnumerable<string> inputs, IEnumerable<string> outputs,
        IEnumerable<(string Name, long Value)> ints, IEnumerable<(string Name, float Value)> floats) => Message(w =>
    {
        foreach (var input in inputs)
        {
            w.WriteTag(NodeInput, WireFormat.WireType.LengthDelimited);
            w.WriteString(input);
        }

        foreach (var output in outputs)
        {
            w.WriteTag(NodeOutput, WireFormat.WireType.LengthDelimited);
            w.WriteString(output);
        }

        w.WriteTag(NodeName, WireFormat.WireType.LengthDelimited);
        w.WriteString(name);
        w.WriteTag(NodeOpType, WireFormat.WireType.LengthDelimited);
        w.WriteString(opType);
        foreach (var (attribute, value) in ints)
        {
            WriteAttribute(w, attribute, AttributeTypeInt, a =>
            {
                a.WriteTag(AttributeInt, WireFormat.WireType.Varint);
                a.WriteInt64(value);
            });
        }

        foreach (var (attribute, value) in floats)
        {
            WriteAttribute(w, attribute, AttributeTypeFloat, a =>
            {
                a.WriteTag(AttributeFloat, WireFormat.WireType.Fixed32);
                a.WriteFloat(value);
            });
        }

        w.WriteTag(NodeDomain, WireFormat.WireType.LengthDelimited);
        w.WriteString(domain);
    });

    // An AttributeProto: its name, its value (written by the caller) and its type.
    private static void WriteAttribute(CodedOutputStream node, string name, int type, Action<CodedOutputStream> value)
    {
        node.WriteTag(NodeAttribute, WireFormat.WireType.LengthDelimited);
        node.WriteBytes(ByteString.CopyFrom(Message(a =>
        {
            a.WriteTag(AttributeName, WireFormat.WireType.LengthDelimited);
            a.WriteString(name);
            value(a);
            a.WriteTag(AttributeType, WireFormat.WireType.Varint);
            a.WriteInt32(type);
        })));
    }

    // Mark and sweep from the graph outputs, so that what only fed removed nodes (shape arithmetic) goes too.
    private HashSet<OnnxNode> LiveNodes(IReadOnlySet<OnnxNode> removed, IReadOnlyDictionary<OnnxNode, byte[]> inserted)
    {
        var producers = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        foreach (var node in Nodes.Where(n => !removed.Contains(n)))
        {
            foreach (var output in node.Outputs)
            {
                producers[output] = node;
            }
        }

        var needed = new Stack<string>(_graphOutputs);
        foreach (var bytes in inserted.Values)
        {
            foreach (var input in InputsOf(bytes))
            {
                needed.Push(input);
            }
        }

        var live = new HashSet<OnnxNode>();
        while (needed.TryPop(out var name))
        {
            if (producers.TryGetValue(name, out var node) && live.Add(node))
            {
                foreach (var input in node.Inputs)
                {
                    needed.Push(input);
                }
            }
        }

        return live;
    }

    private static List<string> InputsOf(byte[] nodeBytes)
    {
        var input = new CodedInputStream(nodeBytes);
        var names = new List<string>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == NodeInput)
            {
                names.Add(input.ReadString());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return names;
    }

    private void ParseModel()
    {
        foreach (var field in Fields(0, _bytes.Length))
        {
            _modelFields.Add(field);
            if (field.Number == ModelGraph && field.IsLengthDelimited)
            {
                ParseGraph(field);
            }
            else if (field.Number == ModelOpsetImport && field.IsLengthDelimited)
            {
                var domain = "";
                foreach (var entry in Fields(field.ValueStart, field.End))
                {
                    if (entry.Number == OpsetDomain && entry.IsLengthDelimited)
                    {
                        domain = Utf8(entry);
                    }
                }

                _opsetDomains.Add(domain);
            }
        }
    }

    private void ParseGraph(Field graph)
    {
        foreach (var field in Fields(graph.ValueStart, graph.End))
        {
            if (field.IsLengthDelimited && field.Number == GraphNode)
            {
                var node = ParseNode(field, Nodes.Count);
                _graphFields.Add(field with { NodeIndex = Nodes.Count });
                Nodes.Add(node);
                foreach (var output in node.Outputs)
                {
                    _producers[output] = node;
                }

                foreach (var input in node.Inputs.Where(i => i.Length > 0))
                {
                    if (!_consumers.TryGetValue(input, out var list))
                    {
                        _consumers[input] = list = [];
                    }

                    list.Add(node);
                }

                continue;
            }

            _graphFields.Add(field);
            if (field.IsLengthDelimited && field.Number == GraphInitializer)
            {
                var name = StringField(field, TensorName);
                if (name is not null)
                {
                    _initializers[name] = field;
                }
            }
            else if (field.IsLengthDelimited && field.Number == GraphOutput)
            {
                var name = StringField(field, ValueInfoName);
                if (name is not null)
                {
                    _graphOutputs.Add(name);
                }
            }
        }
    }

    private OnnxNode ParseNode(Field field, int index)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        string name = "", opType = "", domain = "";
        var attributes = new Dictionary<string, OnnxAttribute>(StringComparer.Ordinal);
        foreach (var f in Fields(field.ValueStart, field.End))
        {
            if (!f.IsLengthDelimited)
            {
                continue;
            }

            switch (f.Number)
            {
                case NodeInput:
                    inputs.Add(Utf8(f));
                    break;
                case NodeOutput:
                    outputs.Add(Utf8(f));
                    break;
                case NodeName:
                    name = Utf8(f);
                    break;
                case NodeOpType:
                    opType = Utf8(f);
                    break;
                case NodeDomain:
                    domain = Utf8(f);
                    break;
                case NodeAttribute:
                    var attribute = ParseAttribute(f);
                    attributes[attribute.Name] = attribute;
                    break;
            }
        }

        // "ai.onnx" is the default domain spelled out.
        return new OnnxNode(index, opType, domain == "ai.onnx" ? "" : domain, name, inputs.ToArray(), outputs.ToArray(), attributes);
    }

    private OnnxAttribute ParseAttribute(Field field)
    {
        string name = "";
        long? integer = null;
        float? real = null;
        var ints = new List<long>();
        Range? tensor = null;
        foreach (var f in Fields(field.ValueStart, field.End))
        {
            switch (f.Number)
            {
                case AttributeName when f.IsLengthDelimited:
                    name = Utf8(f);
                    break;
                case AttributeInt when f.Wire == WireFormat.WireType.Varint:
                    integer = Reader(f.Start, f.End).SkipTagThen(r => r.ReadInt64());
                    break;
                case AttributeFloat when f.Wire == WireFormat.WireType.Fixed32:
                    real = Reader(f.Start, f.End).SkipTagThen(r => r.ReadFloat());
                    break;
                case AttributeInts when f.IsLengthDelimited:
                    var packed = Reader(f.ValueStart, f.End);
                    while (!packed.IsAtEnd)
                    {
                        ints.Add(packed.ReadInt64());
                    }

                    break;
                case AttributeInts when f.Wire == WireFormat.WireType.Varint:
                    ints.Add(Reader(f.Start, f.End).SkipTagThen(r => r.ReadInt64()));
                    break;
                case AttributeTensor when f.IsLengthDelimited:
                    tensor = new Range(f.ValueStart, f.End);
                    break;
                case AttributeGraph or AttributeGraphs:
                    HasSubgraphs = true;
                    break;
            }
        }

        return new OnnxAttribute(name, integer, real, ints.ToArray(), tensor is { } t ? new TensorRange(t.Start.Value, t.End.Value) : null);
    }

    // One value of a float or int64 tensor with one element (dims empty or all 1), from raw_data or the typed field.
    private double? Scalar(int start, int end)
    {
        int? type = null;
        var elements = 1L;
        Field? raw = null;
        var typed = new List<double>();
        foreach (var f in Fields(start, end))
        {
            switch (f.Number)
            {
                case TensorDims when f.Wire == WireFormat.WireType.Varint:
                    elements *= Reader(f.Start, f.End).SkipTagThen(r => r.ReadInt64());
                    break;
                case TensorDims when f.IsLengthDelimited:
                    var dims = Reader(f.ValueStart, f.End);
                    while (!dims.IsAtEnd)
                    {
                        elements *= dims.ReadInt64();
                    }

                    break;
                case TensorDataType when f.Wire == WireFormat.WireType.Varint:
                    type = Reader(f.Start, f.End).SkipTagThen(r => r.ReadInt32());
                    break;
                case TensorRawData when f.IsLengthDelimited:
                    raw = f;
                    break;
                case TensorFloatData when f.IsLengthDelimited:
                    var floats = Reader(f.ValueStart, f.End);
                    while (!floats.IsAtEnd)
                    {
                        typed.Add(floats.ReadFloat());
                    }

                    break;
                case TensorInt64Data when f.IsLengthDelimited:
                    var longs = Reader(f.ValueStart, f.End);
                    while (!longs.IsAtEnd)
                    {
                        typed.Add(longs.ReadInt64());
                    }

                    break;
            }
        }

        if (elements != 1)
        {
            return null;
        }

        if (raw is { } r)
        {
            var data = Payload(r);
            return type switch
            {
                Float when data.Length == 4 => BinaryPrimitives.ReadSingleLittleEndian(data),
                Int64 when data.Length == 8 => BinaryPrimitives.ReadInt64LittleEndian(data),
                _ => null,
            };
        }

        return typed.Count == 1 && type is Float or Int64 ? typed[0] : null;
    }

    private string Utf8(Field field) => System.Text.Encoding.UTF8.GetString(Payload(field));

    // The first string field `number` of a message, or null.
    private string? StringField(Field message, int number) =>
        Fields(message.ValueStart, message.End).Where(f => f.Number == number && f.IsLengthDelimited).Select(Utf8).FirstOrDefault();

    // The first varint field `number` of a message, or null.
    private int? IntField(Field message, int number) =>
        Fields(message.ValueStart, message.End).Where(f => f.Number == number && f.Wire == WireFormat.WireType.Varint)
            .Select(f => (int?)Reader(f.Start, f.End).SkipTagThen(r => r.ReadInt32())).FirstOrDefault();

    // A length-delimited field's value, without its tag and length.
    private ReadOnlySpan<byte> Payload(Field field) => _bytes.AsSpan(field.ValueStart, field.End - field.ValueStart);

    private void Copy(Stream stream, Field field) => stream.Write(_bytes, field.Start, field.End - field.Start);

    private CodedInputStream Reader(int start, int end) => new(_bytes, start, end - start);

    /// <summary>Every field of the message in [start, end), with where its tag and its value begin.</summary>
    private List<Field> Fields(int start, int end)
    {
        var input = Reader(start, end);
        var fields = new List<Field>();

        // Position counts from the array's start or from the reader's, depending on the Google.Protobuf version.
        var origin = start - (int)input.Position;
        while (true)
        {
            var fieldStart = origin + (int)input.Position;
            var tag = input.ReadTag();
            if (tag == 0)
            {
                return fields;
            }

            var valueStart = origin + (int)input.Position;
            input.SkipLastField();
            var fieldEnd = origin + (int)input.Position;
            var wire = WireFormat.GetTagWireType(tag);
            if (wire == WireFormat.WireType.LengthDelimited)
            {
                valueStart += LengthPrefixSize(fieldEnd - valueStart);
            }

            fields.Add(new Field(WireFormat.GetTagFieldNumber(tag), wire, fieldStart, valueStart, fieldEnd));
        }
    }

    // A length-delimited value of n bytes in all: the length prefix is the size s with s + ComputeLengthSize(n - s) == n.
    private static int LengthPrefixSize(int total)
    {
        for (var size = 1; size <= 5; size++)
        {
            if (CodedOutputStream.ComputeLengthSize(total - size) == size)
            {
                return size;
            }
        }

        throw new InvalidDataException("a length prefix that does not fit its field");
    }

    // The tag and length through protobuf's own writer, the payload straight after: a graph with inline weights can
    // be gigabytes, which a ByteString would copy once more.
    private static void WriteLengthDelimited(Stream stream, int field, ReadOnlySpan<byte> payload)
    {
        using (var writer = new CodedOutputStream(stream, leaveOpen: true))
        {
            writer.WriteTag(field, WireFormat.WireType.LengthDelimited);
            writer.WriteLength(payload.Length);
        }

        stream.Write(payload);
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

    private readonly record struct Field(int Number, WireFormat.WireType Wire, int Start, int ValueStart, int End)
    {
        public bool IsLengthDelimited => Wire == WireFormat.WireType.LengthDelimited;

        public int NodeIndex { get; init; } = -1;
    }
}

/// <summary>A top-level node: op type, domain ("" for ONNX), name, inputs, outputs and the attributes FewStep reads.</summary>
internal sealed record OnnxNode(
    int Index, string OpType, string Domain, string Name, string[] Inputs, string[] Outputs, IReadOnlyDictionary<string, OnnxAttribute> Attributes)
{
    public long? Int(string attribute) => Attributes.TryGetValue(attribute, out var a) ? a.Int : null;

    public long[]? Ints(string attribute) => Attributes.TryGetValue(attribute, out var a) ? a.Ints : null;

    public bool Is(string opType) => OpType == opType && Domain.Length == 0;

    // Identity by reference: two nodes with equal fields are still two nodes.
    public bool Equals(OnnxNode? other) => ReferenceEquals(this, other);

    public override int GetHashCode() => Index;
}

internal sealed record OnnxAttribute(string Name, long? Int, float? Float, long[] Ints, TensorRange? Tensor);

internal readonly record struct TensorRange(int Start, int End);

internal static class CodedInputStreamExtensions
{
    /// <summary>Reads a field's tag, then its value with <paramref name="read"/>.</summary>
    public static T SkipTagThen<T>(this CodedInputStream input, Func<CodedInputStream, T> read)
    {
        input.ReadTag();
        return read(input);
    }
}
