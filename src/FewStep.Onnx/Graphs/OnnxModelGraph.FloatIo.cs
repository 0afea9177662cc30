using Google.Protobuf;

namespace FewStep.Onnx.Graphs;

/// <summary>
/// float16 graph inputs and outputs made float32, with a <c>Cast</c> at each boundary: a float16 export's
/// conversions then run inside the session, on the device with CUDA (one kernel each), instead of on the CPU
/// before and after every run, and the pipeline binds float32 everywhere.
/// </summary>
internal sealed partial class OnnxModelGraph
{
    private const int ValueInfoType = 2;
    private const int TypeTensor = 1;
    private const int TypeTensorElementType = 1;

    /// <summary>
    /// The model with its float16 inputs and outputs declared float32 and cast at the boundary, or null when it has
    /// none (or holds subgraphs, whose references to outer names are not tracked here). <paramref name="converted"/>
    /// names what was changed, for the log.
    /// </summary>
    public byte[]? WriteWithFloatIo(out IReadOnlyList<string> converted)
    {
        var inputs = ValueInfos(GraphInput).Where(v => v.ElementType == Float16 && !_initializers.ContainsKey(v.Name)).ToList();
        var outputs = ValueInfos(GraphOutput).Where(v => v.ElementType == Float16 && _producers.ContainsKey(v.Name)).ToList();
        converted = [.. inputs.Select(v => v.Name), .. outputs.Select(v => v.Name)];
        if (converted.Count == 0 || HasSubgraphs)
        {
            converted = [];
            return null;
        }

        // Inside the graph the float16 values keep flowing under new names; the old names become the float32 boundary.
        var taken = new HashSet<string>(Nodes.SelectMany(n => n.Inputs.Concat(n.Outputs)).Concat(_initializers.Keys), StringComparer.Ordinal);
        var inner = converted.ToDictionary(name => name, name => UniqueName(name + "_float16", taken), StringComparer.Ordinal);
        var produced = outputs.ToDictionary(v => v.Name, v => inner[v.Name], StringComparer.Ordinal);
        var castIn = inputs.Select(v => OnnxModelGraph.NodeBytes("Cast", "", inner[v.Name] + "_cast", [v.Name], [inner[v.Name]], [("to", Float16)], [])).ToList();
        var castOut = outputs.Select(v => OnnxModelGraph.NodeBytes("Cast", "", inner[v.Name] + "_cast", [inner[v.Name]], [v.Name], [("to", Float)], [])).ToList();
        var boundary = new HashSet<string>(converted, StringComparer.Ordinal);
        var firstNode = _graphFields.FindIndex(f => f.Number == GraphNode);
        var lastNode = _graphFields.FindLastIndex(f => f.Number == GraphNode);

        using var graph = new MemoryStream();
        for (var i = 0; i < _graphFields.Count; i++)
        {
            var field = _graphFields[i];
            if (i == firstNode)
            {
                castIn.ForEach(cast => WriteLengthDelimited(graph, GraphNode, cast));
            }

            if (field.Number == GraphNode && field.IsLengthDelimited)
            {
                var node = Nodes[field.NodeIndex];
                if (node.Inputs.Any(inner.ContainsKey) || node.Outputs.Any(produced.ContainsKey))
                {
                    WriteLengthDelimited(graph, GraphNode, Renamed(field, inner, produced));
                }
                else
                {
                    Copy(graph, field);
                }
            }
            else if (field.Number is GraphInput or GraphOutput && field.IsLengthDelimited && boundary.Contains(ValueInfoNameOf(field)))
            {
                WriteLengthDelimited(graph, field.Number, WithElementType(field, Float));
            }
            else if (field.Number == GraphValueInfo && field.IsLengthDelimited && boundary.Contains(ValueInfoNameOf(field)))
            {
                // A declared type for a boundary name would now contradict it; ONNX Runtime infers the rest.
            }
            else
            {
                Copy(graph, field);
            }

            if (i == lastNode)
            {
                castOut.ForEach(cast => WriteLengthDelimited(graph, GraphNode, cast));
            }
        }

        return ModelWith(graph);
    }

    private static string UniqueName(string wanted, HashSet<string> taken)
    {
        var name = wanted;
        for (var n = 2; !taken.Add(name); n++)
        {
            name = $"{wanted}_{n}";
        }

        return name;
    }

    private List<(string Name, int? ElementType)> ValueInfos(int graphField) =>
        _graphFields.Where(f => f.Number == graphField && f.IsLengthDelimited).Select(f => (ValueInfoNameOf(f), ElementTypeOf(f))).ToList();

    private string ValueInfoNameOf(Field valueInfo) => StringField(valueInfo, ValueInfoName) ?? "";

    // ValueInfoProto.type.tensor_type.elem_type, or null for a non-tensor value.
    private int? ElementTypeOf(Field valueInfo)
    {
        foreach (var type in Fields(valueInfo.ValueStart, valueInfo.End).Where(f => f.Number == ValueInfoType && f.IsLengthDelimited))
        {
            foreach (var tensor in Fields(type.ValueStart, type.End).Where(f => f.Number == TypeTensor && f.IsLengthDelimited))
            {
                return IntField(tensor, TypeTensorElementType);
            }
        }

        return null;
    }

    // The ValueInfoProto with its tensor element type replaced; its name and shape copied as they are.
    private byte[] WithElementType(Field valueInfo, int elementType) => Rewritten(valueInfo, ValueInfoType, type =>
        Rewritten(type, TypeTensor, tensor => Rewritten(tensor, TypeTensorElementType, _ => Message(w => w.WriteInt32(elementType)))));

    // A message with each field numbered `number` replaced by what `replace` makes of it (a length-delimited
    // payload, or a varint's bytes), every other field copied.
    private byte[] Rewritten(Field message, int number, Func<Field, byte[]> replace)
    {
        using var stream = new MemoryStream();
        foreach (var field in Fields(message.ValueStart, message.End))
        {
            if (field.Number != number)
            {
                Copy(stream, field);
            }
            else if (field.IsLengthDelimited)
            {
                WriteLengthDelimited(stream, number, replace(field));
            }
            else
            {
                stream.Write(Message(w => w.WriteTag(number, field.Wire)));
                stream.Write(replace(field));
            }
        }

        return stream.ToArray();
    }

    // A NodeProto with the inputs and outputs named in the maps renamed, every other field copied.
    private byte[] Renamed(Field node, IReadOnlyDictionary<string, string> inputs, IReadOnlyDictionary<string, string> outputs)
    {
        using var stream = new MemoryStream();
        foreach (var field in Fields(node.ValueStart, node.End))
        {
            var names = field.Number switch
            {
                NodeInput when field.IsLengthDelimited => inputs,
                NodeOutput when field.IsLengthDelimited => outputs,
                _ => null,
            };
            if (names is not null && names.TryGetValue(Utf8(field), out var renamed))
            {
                WriteLengthDelimited(stream, field.Number, System.Text.Encoding.UTF8.GetBytes(renamed));
            }
            else
            {
                Copy(stream, field);
            }
        }

        return stream.ToArray();
    }
}
