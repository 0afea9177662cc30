namespace FewStep.Onnx.Models;

/// <summary>
/// Walks an ONNX <c>ModelProto</c> on the wire, descending only into the messages that can hold a
/// <c>TensorProto</c> and skipping everything else by length, and collects each tensor's external-data
/// <c>location</c>. Field numbers are onnx.proto's (checked against onnx/onnx.proto).
/// </summary>
/// <remarks>
/// Tensors live in graph initializers, sparse initializers, node attributes (Constant's <c>value</c> and any other
/// tensor-valued attribute) and, through graph-valued attributes, in the bodies of If, Loop and Scan; model-local
/// functions and training graphs hold nodes too. Nothing else in onnx.proto nests a TensorProto, so a missing branch
/// here would mean a weight file the downloader never fetches.
/// </remarks>
internal sealed class OnnxExternalDataScanner
{
    // ModelProto
    private const int ModelGraph = 7;
    private const int ModelTrainingInfo = 20;
    private const int ModelFunctions = 25;

    // TrainingInfoProto
    private const int TrainingInitialization = 1;
    private const int TrainingAlgorithm = 2;

    // FunctionProto
    private const int FunctionNode = 7;
    private const int FunctionAttributeProto = 11;

    // GraphProto
    private const int GraphNode = 1;
    private const int GraphInitializer = 5;
    private const int GraphSparseInitializer = 15;

    // NodeProto
    private const int NodeAttribute = 5;

    // AttributeProto
    private const int AttributeTensor = 5;
    private const int AttributeGraph = 6;
    private const int AttributeTensors = 10;
    private const int AttributeGraphs = 11;
    private const int AttributeSparseTensor = 22;
    private const int AttributeSparseTensors = 23;

    // SparseTensorProto
    private const int SparseValues = 1;
    private const int SparseIndices = 2;

    // TensorProto
    private const int TensorName = 8;
    private const int TensorExternalData = 13;
    private const int TensorDataLocation = 14;
    private const int DataLocationExternal = 1;

    // StringStringEntryProto
    private const int EntryKey = 1;
    private const int EntryValue = 2;

    /// <summary>Longer than any path a file system accepts; a longer "location" is refused, not buffered.</summary>
    private const int MaxLocationBytes = 4096;

    /// <summary>Tensor names only decorate error messages, so longer ones are skipped rather than read.</summary>
    private const int MaxNameBytes = 1024;

    private static ReadOnlySpan<byte> LocationKey => "location"u8;

    private readonly ProtobufWireReader _reader;
    private readonly List<string> _locations = [];
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    public OnnxExternalDataScanner(Stream stream, string sourceName) => _reader = new ProtobufWireReader(stream, sourceName);

    /// <summary>The distinct, validated locations in first-seen order (after <see cref="Scan"/>).</summary>
    public IReadOnlyList<string> Locations => _locations;

    /// <summary>How many tensors named an external location, counting repeats of the same file.</summary>
    public int ExternalTensorCount { get; private set; }

    public void Scan() => ReadModel(_reader.End);

    private void ReadModel(long end)
    {
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            switch (field)
            {
                case ModelGraph when wire == ProtobufWireReader.WireLengthDelimited:
                    ReadGraph(MessageEnd(end), 1);
                    break;
                case ModelTrainingInfo when wire == ProtobufWireReader.WireLengthDelimited:
                    ReadTrainingInfo(MessageEnd(end), 1);
                    break;
                case ModelFunctions when wire == ProtobufWireReader.WireLengthDelimited:
                    ReadFunction(MessageEnd(end), 1);
                    break;
                default:
                    _reader.SkipField(wire, end);
                    break;
            }
        }
    }

    private void ReadTrainingInfo(long end, int depth)
    {
        CheckDepth(depth);
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            if (field is TrainingInitialization or TrainingAlgorithm && wire == ProtobufWireReader.WireLengthDelimited)
            {
                ReadGraph(MessageEnd(end), depth + 1);
            }
            else
            {
                _reader.SkipField(wire, end);
            }
        }
    }

    private void ReadFunction(long end, int depth)
    {
        CheckDepth(depth);
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            switch (field)
            {
                case FunctionNode when wire == ProtobufWireReader.WireLengthDelimited:
                    ReadNode(MessageEnd(end), depth + 1);
                    break;
                case FunctionAttributeProto when wire == ProtobufWireReader.WireLengthDelimited:
                    ReadAttribute(MessageEnd(end), depth + 1);
                    break;
                default:
                    _reader.SkipField(wire, end);
                    break;
            }
        }
    }

    private void ReadGraph(long end, int depth)
    {
        CheckDepth(depth);
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            switch (field)
            {
                case GraphNode when wire == ProtobufWireReader.WireLengthDelimited:
                    ReadNode(MessageEnd(end), depth + 1);
                    break;
                case GraphInitializer when wire == ProtobufWireReader.WireLengthDelimited:
                    ReadTensor(MessageEnd(end), depth + 1);
                    break;
                case GraphSparseInitializer when wire == ProtobufWireReader.WireLengthDelimited:
                    ReadSparseTensor(MessageEnd(end), depth + 1);
                    break;
                default:
                    _reader.SkipField(wire, end);
                    break;
            }
        }
    }

    private void ReadNode(long end, int depth)
    {
        CheckDepth(depth);
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            if (field == NodeAttribute && wire == ProtobufWireReader.WireLengthDelimited)
            {
                ReadAttribute(MessageEnd(end), depth + 1);
            }
            else
            {
                _reader.SkipField(wire, end);
            }
        }
    }

    private void ReadAttribute(long end, int depth)
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
                case AttributeTensor or AttributeTensors:
                    ReadTensor(MessageEnd(end), depth + 1);
                    break;
                case AttributeGraph or AttributeGraphs:
                    ReadGraph(MessageEnd(end), depth + 1);
                    break;
                case AttributeSparseTensor or AttributeSparseTensors:
                    ReadSparseTensor(MessageEnd(end), depth + 1);
                    break;
                default:
                    _reader.SkipField(wire, end);
                    break;
            }
        }
    }

    private void ReadSparseTensor(long end, int depth)
    {
        CheckDepth(depth);
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            if (field is SparseValues or SparseIndices && wire == ProtobufWireReader.WireLengthDelimited)
            {
                ReadTensor(MessageEnd(end), depth + 1);
            }
            else
            {
                _reader.SkipField(wire, end);
            }
        }
    }

    private void ReadTensor(long end, int depth)
    {
        CheckDepth(depth);
        var start = _reader.Position;
        string? name = null;
        string? location = null;
        ulong dataLocation = 0;
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            switch (field)
            {
                case TensorExternalData when wire == ProtobufWireReader.WireLengthDelimited:
                    location = ReadEntry(MessageEnd(end), depth + 1) ?? location;
                    break;
                case TensorDataLocation when wire == ProtobufWireReader.WireVarint:
                    dataLocation = _reader.ReadVarint();
                    break;
                case TensorName when wire == ProtobufWireReader.WireLengthDelimited:
                    var length = _reader.ReadLength(end);
                    if (length <= MaxNameBytes)
                    {
                        name = _reader.ReadString((int)length);
                    }
                    else
                    {
                        _reader.Skip(length, _reader.Position);
                    }

                    break;
                default:
                    // raw_data (9) and the typed *_data fields: skipped by length, never buffered.
                    _reader.SkipField(wire, end);
                    break;
            }
        }

        if (location is not null)
        {
            ExternalTensorCount++;
            var normalized = OnnxExternalData.ValidateLocation(location, _reader.SourceName);
            if (_seen.Add(normalized))
            {
                _locations.Add(normalized);
            }
        }
        else if (dataLocation == DataLocationExternal)
        {
            throw new InvalidDataException(
                $"'{_reader.SourceName}' is not a valid ONNX model: tensor '{name}' at byte offset {start} has data_location EXTERNAL but no \"location\" entry.");
        }
    }

    /// <summary>The value of a <c>StringStringEntryProto</c> whose key is "location", else null. Keys and values may come in either order.</summary>
    private string? ReadEntry(long end, int depth)
    {
        CheckDepth(depth);
        var isLocation = false;
        string? value = null;
        long oversizedAt = -1;
        while (_reader.TryReadTag(end, out var field, out var wire))
        {
            if (wire != ProtobufWireReader.WireLengthDelimited || field is not (EntryKey or EntryValue))
            {
                _reader.SkipField(wire, end);
                continue;
            }

            var at = _reader.Position;
            var length = _reader.ReadLength(end);
            if (field == EntryKey)
            {
                isLocation = _reader.ReadAndCompare(length, LocationKey);
            }
            else if (length <= MaxLocationBytes)
            {
                value = _reader.ReadString((int)length);
                oversizedAt = -1;
            }
            else
            {
                _reader.Skip(length, at);
                value = null;
                oversizedAt = at;
            }
        }

        if (!isLocation)
        {
            return null;
        }

        return oversizedAt >= 0
            ? throw _reader.Malformed($"an external-data location longer than {MaxLocationBytes} bytes", oversizedAt)
            : value ?? string.Empty;
    }

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
