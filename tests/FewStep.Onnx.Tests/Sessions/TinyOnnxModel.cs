using FewStep.Onnx.Tests.Models;

namespace FewStep.Onnx.Tests.Sessions;

/// <summary>
/// Writes a small ONNX model (opset 17, through <see cref="OnnxProtoWriter"/>), so element-type paths (float16
/// tensors, int32/int64/float/float16/double timesteps, scalar or vector) can be run without a model export tool.
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
        var graph = OnnxProtoWriter.Graph(
            "tiny",
            [.. nodes.Select(n => OnnxProtoWriter.Node(n.OpType, n.Inputs, n.Outputs, n.To is { } to ? [Lora.SyntheticModels.IntAttribute("to", to)] : []))],
            [],
            [.. inputs.Select(ValueInfo)],
            [.. outputs.Select(ValueInfo)]);
        return OnnxProtoWriter.Write(directory, OnnxProtoWriter.Model(graph), $"tiny-{Guid.NewGuid():N}.onnx");
    }

    // A dynamic dimension (null) is -1 to OnnxProtoWriter.
    private static byte[] ValueInfo(Value value) =>
        OnnxProtoWriter.ValueInfo(value.Name, value.ElementType, [.. value.Shape.Select(d => (long)(d ?? -1))]);
}
