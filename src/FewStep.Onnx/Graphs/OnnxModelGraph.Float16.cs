using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Google.Protobuf;

namespace FewStep.Onnx.Graphs;

/// <summary>
/// A float32 export rewritten as a float16 one, the way float16 exports are made (onnxconverter-common's
/// <c>convert_float_to_float16</c> without <c>keep_io_types</c>): every float32 initializer, constant, graph input
/// and output becomes float16, casts to float32 cast to float16, and only <c>Resize</c>'s roi and scales, which the
/// operator requires in float32, stay as they are.
/// </summary>
internal sealed partial class OnnxModelGraph
{
    private const int TensorExternalData = 13;
    private const int EntryKey = 1;
    private const int EntryValue = 2;

    /// <summary>
    /// The model in float16. Each float32 tensor kept in external data is handed to <paramref name="relocate"/>,
    /// which writes its float16 values wherever it likes and returns their new place.
    /// </summary>
    public byte[] WriteAsFloat16(Func<ExternalTensor, ExternalTensor> relocate)
    {
        if (HasSubgraphs)
        {
            throw new InvalidDataException($"'{Source}' holds subgraphs (If, Loop, Scan): converting them to float16 is not supported.");
        }

        // Resize's roi (input 1) and scales (input 2) must be float32, whatever the data's type.
        var keep = Nodes.Where(n => n.Is("Resize")).SelectMany(n => n.Inputs.Skip(1).Take(2)).Where(i => i.Length > 0).ToHashSet(StringComparer.Ordinal);
        using var graph = new MemoryStream();
        foreach (var field in _graphFields)
        {
            switch (field.Number)
            {
                case GraphNode when field.IsLengthDelimited:
                    var node = Nodes[field.NodeIndex];
                    if (node.Outputs.Any(keep.Contains))
                    {
                        Copy(graph, field);
                    }
                    else if (node.Is("Cast") && node.Int("to") == Float)
                    {
                        WriteLengthDelimited(graph, GraphNode, Rewritten(field, NodeAttribute, a => IntAttribute(a, "to", Float16)));
                    }
                    else if (node.Is("Constant") || node.Is("ConstantOfShape"))
                    {
                        WriteLengthDelimited(graph, GraphNode, Rewritten(field, NodeAttribute, a => TensorAttributeAsFloat16(a, relocate)));
                    }
                    else
                    {
                        Copy(graph, field);
                    }

                    break;
                case GraphInitializer when field.IsLengthDelimited:
                    var name = StringField(field, TensorName) ?? "";
                    WriteLengthDelimited(graph, GraphInitializer, keep.Contains(name) ? Payload(field) : TensorAsFloat16(field, relocate));
                    break;
                case GraphInput or GraphOutput when field.IsLengthDelimited && ElementTypeOf(field) == Float:
                    WriteLengthDelimited(graph, field.Number, WithElementType(field, Float16));
                    break;
                case GraphValueInfo:
                    // Intermediate types change with the conversion; ONNX Runtime infers them again.
                    break;
                default:
                    Copy(graph, field);
                    break;
            }
        }

        return ModelWith(graph);
    }

    // An AttributeProto: `to` = the given type for a Cast, anything else unchanged.
    private byte[] IntAttribute(Field attribute, string name, int value) => NameOfAttribute(attribute) == name
        ? Rewritten(attribute, AttributeInt, _ => Message(w => w.WriteInt64(value)))
        : Payload(attribute).ToArray();

    // An AttributeProto holding a float32 tensor (Constant's value, ConstantOfShape's value) with the tensor in float16.
    private byte[] TensorAttributeAsFloat16(Field attribute, Func<ExternalTensor, ExternalTensor> relocate) =>
        NameOfAttribute(attribute) is "value_float" or "value_floats"
            ? throw new InvalidDataException($"'{Source}': a Constant with {NameOfAttribute(attribute)} cannot be converted to float16 here (only tensor values are).")
            : Rewritten(attribute, AttributeTensor, tensor => TensorAsFloat16(tensor, relocate));

    private string NameOfAttribute(Field attribute) => StringField(attribute, AttributeName) ?? "";

    // A TensorProto: float32 data (raw, typed or external) as float16, every other tensor unchanged.
    private byte[] TensorAsFloat16(Field tensor, Func<ExternalTensor, ExternalTensor> relocate)
    {
        if (IntField(tensor, TensorDataType) != Float)
        {
            return Payload(tensor).ToArray();
        }

        var fields = Fields(tensor.ValueStart, tensor.End);
        var name = StringField(tensor, TensorName) ?? "";
        var external = ExternalOf(fields);
        var moved = external is null ? null : relocate(external with { Name = name });
        using var stream = new MemoryStream();
        foreach (var field in fields)
        {
            switch (field.Number)
            {
                case TensorDataType:
                    stream.Write(Message(w =>
                    {
                        w.WriteTag(TensorDataType, WireFormat.WireType.Varint);
                        w.WriteInt32(Float16);
                    }));
                    break;
                case TensorRawData when field.IsLengthDelimited:
                    WriteLengthDelimited(stream, TensorRawData, HalfBytes(MemoryMarshal.Cast<byte, float>(Payload(field))));
                    break;
                case TensorFloatData:
                    // Typed float_data (packed or not): written as raw float16 bytes, gathered below.
                    break;
                case TensorExternalData when field.IsLengthDelimited && moved is not null:
                    break;
                default:
                    Copy(stream, field);
                    break;
            }
        }

        var typed = TypedFloats(fields);
        if (typed.Count > 0)
        {
            WriteLengthDelimited(stream, TensorRawData, HalfBytes(typed.ToArray()));
        }

        if (moved is not null)
        {
            foreach (var (key, value) in new[] { ("location", moved.Location), ("offset", moved.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("length", moved.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)) })
            {
                WriteLengthDelimited(stream, TensorExternalData, Message(w =>
                {
                    w.WriteTag(EntryKey, WireFormat.WireType.LengthDelimited);
                    w.WriteString(key);
                    w.WriteTag(EntryValue, WireFormat.WireType.LengthDelimited);
                    w.WriteString(value);
                }));
            }
        }

        return stream.ToArray();
    }

    // float_data, packed or one value per field.
    private List<float> TypedFloats(List<Field> fields)
    {
        var values = new List<float>();
        foreach (var field in fields.Where(f => f.Number == TensorFloatData))
        {
            if (field.IsLengthDelimited)
            {
                var packed = Reader(field.ValueStart, field.End);
                while (!packed.IsAtEnd)
                {
                    values.Add(packed.ReadFloat());
                }
            }
            else
            {
                values.Add(Reader(field.Start, field.End).SkipTagThen(r => r.ReadFloat()));
            }
        }

        return values;
    }

    private ExternalTensor? ExternalOf(List<Field> fields)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in fields.Where(f => f.Number == TensorExternalData && f.IsLengthDelimited))
        {
            var key = StringField(field, EntryKey);
            var value = StringField(field, EntryValue);
            if (key is not null && value is not null)
            {
                entries[key] = value;
            }
        }

        if (!entries.TryGetValue("location", out var location))
        {
            return null;
        }

        long Number(string key) => entries.TryGetValue(key, out var text) ? long.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : -1;
        return new ExternalTensor("", location, Math.Max(0, Number("offset")), Number("length"));
    }

    /// <summary>Float32 values as float16 bytes (little-endian, as ONNX stores them on x64), rounded to nearest even as torch's <c>.half()</c>.</summary>
    public static byte[] HalfBytes(ReadOnlySpan<float> values)
    {
        var halves = new Half[values.Length];
        TensorPrimitives.ConvertToHalf(values, halves);
        return MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
    }
}

/// <summary>A tensor kept in an external-data file: its name, file (relative to the model), offset and length in bytes (-1: to the end).</summary>
internal sealed record ExternalTensor(string Name, string Location, long Offset, long Length);
