using FewStep.Diffusion.Noise;
using FewStep.Onnx.Graphs;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using FewStep.Onnx.Tests.Conformance;
using FewStep.Tests;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace FewStep.Onnx.Tests.Graphs;

/// <summary>
/// Float16 model folders made from the float32 exports: the float16 path (bindings, timesteps, token ids, the NaN
/// checks, and on CUDA the in-graph casts) runs end to end through real pipelines, not only single operators.
/// </summary>
public sealed class Float16ConversionTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-fp16-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData("tiny-sd-turbo", 2)]
    [InlineData("tiny-sdxl-turbo", 2)]
    [InlineData("tiny-lcm", 4)]
    public void A_float16_copy_generates_what_the_float32_model_does_within_float16_rounding(string model, int steps)
    {
        var converted = Path.Combine(_temp, model);
        Float16Conversion.ConvertFolder(ConformancePaths.Model(model), converted);
        var sessions = new OnnxSessionFactory(new OnnxExecutionOptions());
        var request = new GenerationRequest { Prompts = ["a red fox in the snow"], Width = 64, Height = 64, NumInferenceSteps = steps };

        using var half = TextToImagePipeline.Load(converted, sessions);
        using var full = TextToImagePipeline.Load(ConformancePaths.Model(model), sessions);
        var expected = full.Generate(request, new TorchNoiseSource([7])).Images[0].Rgb;
        var actual = half.Generate(request, new TorchNoiseSource([7])).Images[0].Rgb;

        using var unet = new InferenceSession(Path.Combine(converted, "unet", "model.onnx"));
        Assert.Equal(TensorElementType.Float16, unet.InputMetadata["sample"].ElementDataType);
        Assert.Equal(TensorElementType.Float16, unet.OutputMetadata["out_sample"].ElementDataType);
        Assert.Equal(TensorElementType.Float16, unet.InputMetadata["encoder_hidden_states"].ElementDataType);
        var differences = expected.Zip(actual, (a, b) => Math.Abs(a - b)).ToArray();
        // On CPU ONNX Runtime computes float16 nodes in float32 behind casts, so only the weights' and the tensors'
        // rounding shows (measured: mean 0.03–0.05 levels, at most 1).
        Assert.True(differences.Average() < 0.5, $"mean difference {differences.Average():F2} levels");
        Assert.True(differences.Max() <= 4, $"largest difference {differences.Max()} levels");
        var weights = new FileInfo(Path.Combine(converted, "unet", "model.onnx")).Length;
        Assert.InRange(weights, 1, new FileInfo(Path.Combine(ConformancePaths.Model(model), "unet", "model.onnx")).Length * 0.6);
    }

    [Fact]
    public void Every_float32_tensor_becomes_float16_but_resize_scales()
    {
        var path = Path.Combine(ConformancePaths.Model("tiny-sd-turbo"), "vae_decoder", "model.onnx");
        var original = OnnxModelGraph.Parse(File.ReadAllBytes(path), path);

        var converted = OnnxModelGraph.Parse(original.WriteAsFloat16(t => throw new InvalidOperationException("no external data")), path);

        Assert.Equal(original.Nodes.Count, converted.Nodes.Count);
        Assert.DoesNotContain(converted.Nodes, n => n.Is("Cast") && n.Int("to") == OnnxModelGraph.Float);
        var scales = converted.Nodes.Where(n => n.Is("Resize")).Select(n => n.Inputs[2]).ToList();
        Assert.NotEmpty(scales);
        using var session = new InferenceSession(original.WriteAsFloat16(t => t));
        Assert.Equal(TensorElementType.Float16, session.InputMetadata["latent_sample"].ElementDataType);
    }

    [Fact]
    public void External_data_is_rewritten_at_half_the_size_and_reads_back()
    {
        // The real-size skeleton's layout, on a tiny model: every large weight in model.onnx_data.
        var folder = Path.Combine(_temp, "external");
        var sessions = new OnnxSessionFactory(new OnnxExecutionOptions());
        Float16Conversion.ConvertFolder(ConformancePaths.Model("tiny-sd-turbo"), Path.Combine(_temp, "inline"));
        WriteWithExternalData(Path.Combine(ConformancePaths.Model("tiny-sd-turbo"), "unet", "model.onnx"), Path.Combine(_temp, "external-f32", "unet"));
        Float16Conversion.ConvertFolder(Path.Combine(_temp, "external-f32"), folder);

        var floats = new FileInfo(Path.Combine(_temp, "external-f32", "unet", "model.onnx_data")).Length;
        var halves = new FileInfo(Path.Combine(folder, "unet", "model.onnx_data")).Length;
        Assert.InRange(halves, floats / 2, (floats / 2) + (4096L * 400));
        using var inline = sessions.Create("unet", Path.Combine(_temp, "inline", "unet", "model.onnx"));
        using var external = sessions.Create("unet", Path.Combine(folder, "unet", "model.onnx"));
        Assert.Equal(Run(inline), Run(external));
    }

    [CudaFact]
    public void On_cuda_a_float16_pipeline_runs_with_its_casts_on_the_device()
    {
        var converted = Path.Combine(_temp, "tiny-sd-turbo");
        Float16Conversion.ConvertFolder(ConformancePaths.Model("tiny-sd-turbo"), converted);
        var sessions = new OnnxSessionFactory(new OnnxExecutionOptions { ExecutionProvider = ExecutionProviderKind.Cuda, FallBackToCpu = false });
        var request = new GenerationRequest { Prompts = ["a red fox in the snow"], Width = 64, Height = 64, NumInferenceSteps = 2 };

        using var half = TextToImagePipeline.Load(converted, sessions);
        using var full = TextToImagePipeline.Load(ConformancePaths.Model("tiny-sd-turbo"), new OnnxSessionFactory(new OnnxExecutionOptions()));

        Assert.Equal(ExecutionProviderKind.Cuda, half.Provider);
        var expected = full.Generate(request, new TorchNoiseSource([7])).Images[0].Rgb;
        var actual = half.Generate(request, new TorchNoiseSource([7])).Images[0].Rgb;
        Assert.True(expected.Zip(actual, (a, b) => Math.Abs(a - b)).Average() < 2.0);
    }

    private static float[] Run(OnnxModelSession unet)
    {
        var sample = Enumerable.Range(0, 4 * 8 * 8).Select(i => MathF.Sin(i * 0.3f)).ToArray();
        var hidden = Enumerable.Range(0, 77 * 32).Select(i => MathF.Cos(i * 0.1f)).ToArray();
        using var x = new FloatTensorBinding(unet, "sample", unet.RequireInput("sample"), [1, 4, 8, 8]);
        using var e = new FloatTensorBinding(unet, "encoder_hidden_states", unet.RequireInput("encoder_hidden_states"), [1, 77, 32]);
        using var y = new FloatTensorBinding(unet, "out_sample", unet.RequireOutput("out_sample"), [1, 4, 8, 8]);
        sample.CopyTo(x.Data, 0);
        hidden.CopyTo(e.Data, 0);
        x.Stage();
        e.Stage();
        using var t = new TimestepBinding(unet, "timestep", 1);
        t.Set(999);
        unet.Run(["sample", "timestep", "encoder_hidden_states"], [x.Value, t.Value, e.Value], ["out_sample"], [y.Value], null, CancellationToken.None);
        y.Complete();
        return y.Data;
    }

    // The model with every initializer of 1 KiB or more moved to model.onnx_data, through ONNX Runtime's own writer.
    internal static void WriteWithExternalData(string model, string folder)
    {
        Directory.CreateDirectory(folder);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, OptimizedModelFilePath = Path.Combine(folder, "model.onnx") };
        options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", "model.onnx_data");
        options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
        using var session = new InferenceSession(model, options);
    }
}
