using System.Globalization;
using FewStep.Onnx.Models;

namespace FewStep.Onnx.Lora;

/// <summary>
/// One streaming pass over an ONNX <c>ModelProto</c> (with <see cref="ProtobufWireReader"/>, never holding
/// <c>raw_data</c>): the top-level graph's nodes and initializers, and how many times each name is consumed.
/// </summary>
/// <remarks>
/// Only the top-level graph's nodes and initializers are recorded: diffusers and transformers exports put every
/// weight there. Nodes inside subgraphs (If / Loop / Scan bodies) are read only to count their references to
/// outer names, so a top-level weight also used in a subgraph is seen as shared (a subgraph's own initializer of
/// the same name would be counted too, which errs on the safe side). Model-local functions cannot name the
/// graph's initializers and are skipped. Field numbers are onnx.proto's.
/// </remarks>
internal sealed class OnnxGraphScanner
{
    // ModelProto / GraphProto / NodeProto / AttributeProto / ValueInfoProto / TensorProto / StringStringEntryProto
    private const int ModelGraph = 7;
    private const int GraphNode = 1;
    private const int GraphInitializer = 5;
    private const int GraphOutput = 12;
    private const int NodeInput = 1;
    private const int NodeName = 3;
    private const int NodeOpType = 4;
    private const int NodeAttribute = 5;
    private const int NodeDomain = 7;
    private const int AttributeName = 1;
    private const int AttributeFloat = 2;
    private const int AttributeInt = 3;
    private const int AttributeGraph = 6;
    private const int AttributeGraphs = 11;
    private const int ValueInfoName = 1;
    private const int TensorDims = 1;
    private const int TensorDataType = 2;
    private const int TensorSegment = 3;
    private const int TensorFloatData = 4;
    private const int TensorInt32Data = 5;
    private const int TensorName = 8;
    private const int TensorRawData = 9;
    private const int TensorExternalData = 13;
    private const int TensorDataLocation = 14;
    private const int DataLocationExternal = 1;
    private const int EntryKey = 1;
    private const int EntryValue = 2;

    /// <summary>Names, op types and attribute names: generous, but bounded so a corrupt length is not buffered.</summary>
    private const int MaxNameBytes = 16 * 1024;

    /// <summary>As <see cref="OnnxExternalDataScanner"/>: longer than any path a file system accepts.</summary>
    private const int MaxLocationBytes = 4096;

    private readonly ProtobufWireReader _reader;

    public OnnxGraphScanner(Stream stream, string sourceName) => _reader = new ProtobufWireReader(stream, sourceName);

    public List<OnnxGraphNode> Nodes { get; } = [];

    public Dictionary<string, OnnxGraphInitializer> Initializers { get; } = new(StringComparer.Ordinal);

    /// <summary>Node inputs (top level and subgraphs) and top-level graph outputs naming each value.</summary>
    public Dictionary<string, int> ConsumerCounts { get; } = new(StringComparer.Ordinal);

    public void Scan()
    {
        var end = _reader.End;
        var graphs = 0;
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            if (field == ModelGraph && wire == ProtobufWireReader.WireLengthDelimited)
            {
                // protobuf merges repeated occurrences of a singular message field; no exporter writes two.
                if (++graphs > 1)
                {
                    throw _reader.Malformed("a second graph field", _reader.Position);
                }

                ReadGraph(MessageEnd(end), depth: 1, topLevel: true);
            }
            else
            {
                _reader.SkipField(wire, end);
            }
        }
    }

    private void ReadGraph(long end, int depth, bool topLevel)
    {
        CheckDepth(depth);
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            if (wire != ProtobufWireReader.WireLengthDelimited)
            {
                _reader.SkipField(wire, end);
                continue;
            }

            switch (field)
            {
                case GraphNode:
                    ReadNode(MessageEnd(end), depth + 1, topLevel);
                    break;
                case GraphInitializer when topLevel:
                    var start = _reader.Position;
                    var tensorEnd = MessageEnd(end);
                    var initializer = ReadTensor(start, tensorEnd);
                    if (!Initializers.TryAdd(initializer.Name, initializer))
                    {
                        throw _reader.Malformed($"a second initializer named '{initializer.Name}'", start);
                    }

                    break;
                case GraphOutput when topLevel:
                    var outputName = ReadValueInfoName(MessageEnd(end));
                    if (outputName is not null)
                    {
                        Consume(outputName);
                    }

                    break;
                default:
                    _reader.SkipField(wire, end);
                    break;
            }
        }
    }

    private void ReadNode(long end, int depth, bool topLevel)
    {
        CheckDepth(depth);
        var inputs = new List<string>(2);
        string name = string.Empty, opType = string.Empty, domain = string.Empty;
        long transA = 0, transB = 0, group = 1;
        var alpha = 1f;
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            if (wire != ProtobufWireReader.WireLengthDelimited)
            {
                _reader.SkipField(wire, end);
                continue;
            }

            switch (field)
            {
                case NodeInput:
                    inputs.Add(_reader.ReadStringField(end, MaxNameBytes, "a node input name"));
                    break;
                case NodeName:
                    name = _reader.ReadStringField(end, MaxNameBytes, "a node name");
                    break;
                case NodeOpType:
                    opType = _reader.ReadStringField(end, MaxNameBytes, "an op type");
                    break;
                case NodeDomain:
                    domain = _reader.ReadStringField(end, MaxNameBytes, "a node domain");
                    break;
                case NodeAttribute:
                    var attribute = ReadAttribute(MessageEnd(end), depth + 1);
                    switch (attribute.Name)
                    {
                        case "transA": transA = attribute.Int; break;
                        case "transB": transB = attribute.Int; break;
                        case "group": group = attribute.Int; break;
                        case "alpha": alpha = attribute.Float; break;
                    }

                    break;
                default:
                    _reader.SkipField(wire, end);
                    break;
            }
        }

        foreach (var input in inputs)
        {
            // An empty input name is an omitted optional input, not a reference.
            if (input.Length > 0)
            {
                Consume(input);
            }
        }

        if (topLevel)
        {
            Nodes.Add(new OnnxGraphNode(name, opType, domain, inputs, transA, transB, group, alpha));
        }
    }

    /// <summary>Reads an attribute's name and scalar int / float, and walks any subgraph it holds (for consumer counts).</summary>
    private (string Name, long Int, float Float) ReadAttribute(long end, int depth)
    {
        CheckDepth(depth);
        var name = string.Empty;
        long intValue = 0;
        var floatValue = 0f;
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            switch (field)
            {
                case AttributeName when wire == ProtobufWireReader.WireLengthDelimited:
                    name = _reader.ReadStringField(end, MaxNameBytes, "an attribute name");
                    break;
                case AttributeInt when wire == ProtobufWireReader.WireVarint:
                    intValue = (long)_reader.ReadVarint();
                    break;
                case AttributeFloat when wire == ProtobufWireReader.WireFixed32:
                    floatValue = BitConverter.UInt32BitsToSingle(_reader.ReadFixed32(end));
                    break;
                case AttributeGraph or AttributeGraphs when wire == ProtobufWireReader.WireLengthDelimited:
                    ReadGraph(MessageEnd(end), depth + 1, topLevel: false);
                    break;
                default:
                    _reader.SkipField(wire, end);
                    break;
            }
        }

        return (name, intValue, floatValue);
    }

    private string? ReadValueInfoName(long end)
    {
        string? name = null;
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            if (field == ValueInfoName && wire == ProtobufWireReader.WireLengthDelimited)
            {
                name = _reader.ReadStringField(end, MaxNameBytes, "a graph output name");
            }
            else
            {
                _reader.SkipField(wire, end);
            }
        }

        return name;
    }

    private OnnxGraphInitializer ReadTensor(long start, long end)
    {
        var dims = new List<long>(4);
        var dataType = 0;
        var name = string.Empty;
        (long Offset, long Length)? raw = null;
        string? location = null;
        string? offsetText = null, lengthText = null;
        ulong dataLocation = 0;
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            switch (field)
            {
                case TensorDims when wire == ProtobufWireReader.WireVarint:
                    dims.Add((long)_reader.ReadVarint());
                    break;
                case TensorDims when wire == ProtobufWireReader.WireLengthDelimited:
                    // Packed repeated int64, as proto3 writers emit it.
                    var dimsEnd = MessageEnd(end);
                    while (_reader.Position < dimsEnd)
                    {
                        dims.Add((long)_reader.ReadVarint());
                    }

                    break;
                case TensorDataType when wire == ProtobufWireReader.WireVarint:
                    dataType = (int)_reader.ReadVarint();
                    break;
                case TensorName when wire == ProtobufWireReader.WireLengthDelimited:
                    name = _reader.ReadStringField(end, MaxNameBytes, "a tensor name");
                    break;
                case TensorRawData when wire == ProtobufWireReader.WireLengthDelimited:
                    var length = _reader.ReadLength(end);
                    raw = (_reader.Position, length);
                    _reader.Skip(length, _reader.Position);
                    break;
                case TensorSegment:
                    throw _reader.Malformed($"a segmented tensor ('{name}'), which ONNX Runtime does not load either", start);
                case TensorExternalData when wire == ProtobufWireReader.WireLengthDelimited:
                    var (key, value) = ReadEntry(MessageEnd(end));
                    switch (key)
                    {
                        case "location": location = value; break;
                        case "offset": offsetText = value; break;
                        case "length": lengthText = value; break;
                    }

                    break;
                case TensorDataLocation when wire == ProtobufWireReader.WireVarint:
                    dataLocation = _reader.ReadVarint();
                    break;
                default:
                    _reader.SkipField(wire, end);
                    break;
            }
        }

        OnnxTensorStorage storage;
        if (location is not null || dataLocation == DataLocationExternal)
        {
            if (location is null)
            {
                throw _reader.Malformed($"tensor '{name}' with data_location EXTERNAL but no \"location\" entry", start);
            }

            var offset = offsetText is null ? 0 : ParseLength(offsetText, name, "offset", start);
            long? length = lengthText is null ? null : ParseLength(lengthText, name, "length", start);
            storage = new OnnxTensorStorage(OnnxTensorStorageKind.External, offset, length,
                OnnxExternalData.ValidateLocation(location, _reader.SourceName));
        }
        else if (raw is { } bytes)
        {
            storage = new OnnxTensorStorage(OnnxTensorStorageKind.RawData, bytes.Offset, bytes.Length, null);
        }
        else
        {
            // float_data / int32_data (or no values at all): the whole TensorProto is parsed again when read.
            storage = new OnnxTensorStorage(OnnxTensorStorageKind.TypedData, start, end - start, null);
        }

        return new OnnxGraphInitializer(name, dataType, dims, storage);
    }

    private long ParseLength(string text, string tensor, string key, long at) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw _reader.Malformed($"tensor '{tensor}' with external-data {key} '{text}', not a non-negative integer", at);

    private (string? Key, string? Value) ReadEntry(long end)
    {
        string? key = null, value = null;
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            if (wire == ProtobufWireReader.WireLengthDelimited && field == EntryKey)
            {
                key = _reader.ReadStringField(end, MaxNameBytes, "an external-data key");
            }
            else if (wire == ProtobufWireReader.WireLengthDelimited && field == EntryValue)
            {
                value = _reader.ReadStringField(end, MaxLocationBytes, "an external-data value");
            }
            else
            {
                _reader.SkipField(wire, end);
            }
        }

        return (key, value);
    }

    private void Consume(string name) => ConsumerCounts[name] = ConsumerCounts.GetValueOrDefault(name) + 1;

    private long MessageEnd(long end)
    {
        var length = _reader.ReadLength(end);
        return _reader.Position + length;
    }

    private void CheckDepth(int depth)
    {
        if (depth > ProtobufWireReader.MaxDepth)
        {
            throw _reader.Malformed($"messages nested deeper than {ProtobufWireReader.MaxDepth} levels", _reader.Position);
        }
    }
}
