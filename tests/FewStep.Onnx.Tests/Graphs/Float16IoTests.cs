using FewStep.Onnx.Graphs;
using FewStep.Onnx.Sessions;
using FewStep.Onnx.Tests.Conformance;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using Tiny = FewStep.Onnx.Tests.Sessions.TinyOnnxModel;

namespace FewStep.Onnx.Tests.Graphs;

/// <summary>
/// A float16 export's float16 inputs and outputs are bound as float32 and cast inside the session (on the device
/// with CUDA), computing exactly what converting on the host does.
/// </summary>
public sealed class Float16IoTests : IDisposable
{
    private static readonly float[] Values = [0.5f, -2.25f, 1024f, 3.14159f, 65504f, 1e-3f];

    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-fp16io-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    // x (float16) → Neg → y (an output, also read inside) → Mul(y, x) → z; w = Cast(x, float) is float32 already.
    private string MixedModel() => Tiny.Write(
        _temp,
        [new Tiny.Node("Neg", ["x"], ["y"]), new Tiny.Node("Mul", ["y", "x"], ["z"]), new Tiny.Node("Cast", ["x"], ["w"], Tiny.Float)],
        [new Tiny.Value("x", Tiny.Float16, [null])],
        [new Tiny.Value("y", Tiny.Float16, [null]), new Tiny.Value("z", Tiny.Float16, [null]), new Tiny.Value("w", Tiny.Float, [null])]);

    [Fact]
    public void Float16_inputs_and_outputs_become_float32_and_the_graph_casts_them()
    {
        var path = MixedModel();

        var rewritten = OnnxModelGraph.Parse(File.ReadAllBytes(path), path).WriteWithFloatIo(out var converted);

        Assert.NotNull(rewritten);
        Assert.Equal(["x", "y", "z"], converted);
        var graph = OnnxModelGraph.Parse(rewritten, path);
        Assert.Equal(1, graph.Nodes.Count(n => n.Is("Cast") && n.Int("to") == OnnxModelGraph.Float16));
        Assert.Equal(3, graph.Nodes.Count(n => n.Is("Cast") && n.Int("to") == OnnxModelGraph.Float)); // w's own, then y's and z's
        // In topological order: the input's cast before every node, the outputs' casts after them all.
        Assert.Equal(["x"], graph.Nodes[0].Inputs);
        Assert.Equal(["y", "z"], graph.Nodes.TakeLast(2).Select(n => n.Outputs[0]));
        using var session = new InferenceSession(rewritten);
        Assert.All(session.InputMetadata.Values.Concat(session.OutputMetadata.Values), m => Assert.Equal(TensorElementType.Float, m.ElementDataType));
    }

    [Fact]
    public void The_cast_graph_rounds_as_the_host_conversion_does()
    {
        // Identity has a float16 kernel on CPU, so ONNX Runtime inserts no casts of its own to merge ours with; with
        // graph optimisation off it also keeps the Identity, and the value goes through both casts as on a GPU.
        var path = Tiny.Write(_temp, Tiny.Float16, [null]);
        using var host = new OnnxSessionFactory(new OnnxExecutionOptions()).Create("identity", path);
        using var input = new FloatTensorBinding(host, "x", host.RequireInput("x"), [Values.Length]);
        using var output = new FloatTensorBinding(host, "y", host.RequireOutput("y"), [Values.Length]);
        Values.CopyTo(input.Data, 0);
        input.Stage();
        host.Run(["x"], [input.Value], ["y"], [output.Value], null, CancellationToken.None);
        output.Complete();

        using var unoptimised = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var cast = new InferenceSession(OnnxModelGraph.Parse(File.ReadAllBytes(path), path).WriteWithFloatIo(out _)!, unoptimised);
        using var x = OrtValue.CreateTensorValueFromMemory(Values.ToArray(), [Values.Length]);
        using var results = cast.Run(new RunOptions(), ["x"], [x], ["y"]);

        Assert.Equal(Values.Select(v => (float)(Half)v), output.Data);
        Assert.Equal(output.Data, results[0].GetTensorDataAsSpan<float>().ToArray());
    }

    [Fact]
    public void On_cpu_float16_is_converted_on_the_host()
    {
        // ONNX Runtime's CPU provider runs most float16 nodes in float32 behind casts it inserts and would drop a
        // boundary cast with them (Mul(y, x) here would skip its rounding to float16): the graph is left as exported.
        using var session = new OnnxSessionFactory(new OnnxExecutionOptions { CastFloat16InGraph = true }).Create("mixed", MixedModel());

        Assert.Equal(TensorElementType.Float16, session.RequireInput("x").ElementDataType);
        Assert.Equal(TensorElementType.Float16, session.RequireOutput("z").ElementDataType);
    }

    [CudaFact]
    public void On_cuda_float16_inputs_and_outputs_are_bound_as_float32()
    {
        var options = new OnnxExecutionOptions { ExecutionProvider = ExecutionProviderKind.Cuda, FallBackToCpu = false };
        using var session = new OnnxSessionFactory(options).Create("mixed", MixedModel());
        using var x = new FloatTensorBinding(session, "x", session.RequireInput("x"), [Values.Length]);
        var outputs = new[] { "y", "z", "w" }.Select(name => new FloatTensorBinding(session, name, session.RequireOutput(name), [Values.Length])).ToList();
        Values.CopyTo(x.Data, 0);

        session.Run(["x"], [x.Value], ["y", "z", "w"], outputs.Select(b => b.Value).ToList(), null, CancellationToken.None);

        Assert.All(new[] { "x" }.Select(session.RequireInput).Concat(outputs.Select(b => session.RequireOutput(b.Name))),
            m => Assert.Equal(TensorElementType.Float, m.ElementDataType));
        var halves = Values.Select(v => (float)(Half)v).ToArray();
        Assert.Equal(halves.Select(h => -h), outputs[0].Data);
        Assert.Equal(halves.Select(h => (float)(Half)(-h * h)), outputs[1].Data); // float16 Mul on the device: 65504² is -inf
        Assert.Equal(halves, outputs[2].Data);
        outputs.ForEach(b => b.Dispose());
    }

    [Theory]
    [InlineData("tiny-sd-turbo", "unet")]
    [InlineData("tiny-sdxl-turbo", "text_encoder_2")]
    [InlineData("tiny-lcm", "vae_decoder")]
    public void A_float32_export_is_left_as_it_is(string model, string component)
    {
        var path = Path.Combine(ConformancePaths.Models, model, component, "model.onnx");

        Assert.Null(OnnxModelGraph.Parse(File.ReadAllBytes(path), path).WriteWithFloatIo(out var converted));
        Assert.Empty(converted);
    }

    [Fact]
    public void Names_taken_inside_the_graph_are_not_reused()
    {
        // "x_float16" is already a value of the graph: the cast's output must not collide with it.
        var path = Tiny.Write(
            _temp,
            [new Tiny.Node("Neg", ["x"], ["x_float16"]), new Tiny.Node("Identity", ["x_float16"], ["y"])],
            [new Tiny.Value("x", Tiny.Float16, [null])],
            [new Tiny.Value("y", Tiny.Float16, [null])]);
        var rewritten = OnnxModelGraph.Parse(File.ReadAllBytes(path), path).WriteWithFloatIo(out _)!;
        using var session = new InferenceSession(rewritten);
        using var input = OrtValue.CreateTensorValueFromMemory(new float[] { 1.5f, -3f }, [2]);

        using var results = session.Run(new RunOptions(), ["x"], [input], ["y"]);

        Assert.Equal([-1.5f, 3f], results[0].GetTensorDataAsSpan<float>().ToArray());
    }
}
