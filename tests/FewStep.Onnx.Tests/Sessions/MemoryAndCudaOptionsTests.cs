using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Models;
using FewStep.Onnx.Sessions;
using FewStep.Onnx.Tests.Conformance;
using FewStep.Onnx.Tests.Lora;
using FewStep.Onnx.Tests.Models;

namespace FewStep.Onnx.Tests.Sessions;

public sealed class MemoryAndCudaOptionsTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-options-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Defaults_are_the_measured_ones()
    {
        var options = new OnnxExecutionOptions();

        Assert.True(options.FuseAttention);
        Assert.False(options.EnableMemoryPattern);
        Assert.True(options.EnableCpuMemArena);
        Assert.Equal(1, options.VaeDecodeBatch);
        Assert.Equal("EXHAUSTIVE", options.CudnnConvAlgoSearch);
        Assert.False(options.EnableCudaGraph);
        Assert.True(options.CastFloat16InGraph);
        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("CudnnConvAlgoSearch", "FASTEST")]
    [InlineData("ArenaExtendStrategy", "kDouble")]
    [InlineData("GpuMemoryLimitMb", "-1")]
    [InlineData("VaeDecodeBatch", "-2")]
    [InlineData("CudaGraphShapes", "0")]
    public void Bad_settings_are_errors_naming_the_setting(string setting, string value)
    {
        var options = new OnnxExecutionOptions();
        var property = typeof(OnnxExecutionOptions).GetProperty(setting)!;
        property.SetValue(options, property.PropertyType == typeof(string) ? value : Convert.ChangeType(value, property.PropertyType, System.Globalization.CultureInfo.InvariantCulture));

        var error = Assert.Single(options.Validate());

        Assert.Contains($"Onnx:{setting}", error, StringComparison.Ordinal);
        Assert.Contains(value, error, StringComparison.Ordinal);
        Assert.Throws<DiffusionException>(() => new OnnxSessionFactory(options));
    }

    [Fact]
    public void Cuda_provider_options_carry_the_settings_under_onnx_runtime_names()
    {
        var options = new OnnxExecutionOptions { DeviceId = 1, CudnnConvAlgoSearch = "HEURISTIC", ArenaExtendStrategy = "kSameAsRequested", GpuMemoryLimitMb = 20480 };

        Assert.Equal(
            new Dictionary<string, string>
            {
                ["device_id"] = "1",
                ["cudnn_conv_algo_search"] = "HEURISTIC",
                ["arena_extend_strategy"] = "kSameAsRequested",
                ["gpu_mem_limit"] = "21474836480",
            },
            options.CudaProviderOptions());
        Assert.False(new OnnxExecutionOptions().CudaProviderOptions().ContainsKey("gpu_mem_limit"));
    }

    [Fact]
    public void Cuda_graphs_are_asked_of_the_provider_only_for_the_denoiser_and_only_on_cuda()
    {
        var options = new OnnxExecutionOptions { ExecutionProvider = ExecutionProviderKind.Cuda, EnableCudaGraph = true };

        Assert.Empty(options.Validate());
        Assert.Equal("1", options.CudaProviderOptions(cudaGraph: true)["enable_cuda_graph"]);
        Assert.False(options.CudaProviderOptions().ContainsKey("enable_cuda_graph"));
        Assert.True(OnnxSessionFactory.IsDenoiser("unet"));
        Assert.True(OnnxSessionFactory.IsDenoiser("transformer"));
        Assert.False(OnnxSessionFactory.IsDenoiser("vae_decoder"));
        Assert.False(OnnxSessionFactory.IsDenoiser("text_encoder_2"));

        var onCpu = Assert.Single(new OnnxExecutionOptions { EnableCudaGraph = true }.Validate());
        Assert.Contains("Onnx:EnableCudaGraph needs Onnx:ExecutionProvider=Cuda", onCpu, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Vae_slices_decode_what_the_whole_batch_decodes(int imagesPerRun)
    {
        var folder = ModelFolder.Open(Path.Combine(ConformancePaths.Models, "tiny-sd-turbo"));
        var sessions = new OnnxSessionFactory(new OnnxExecutionOptions());
        var latents = Enumerable.Range(0, 3 * 4 * 8 * 8).Select(i => MathF.Sin(i * 0.05f) * 2).ToArray();
        using var whole = new VaeDecoderModel(sessions.Create("vae_decoder", folder.OnnxPath("vae_decoder")), folder.ReadConfig<VaeConfig>("vae_decoder"), imagesPerRun: 0);
        using var sliced = new VaeDecoderModel(sessions.Create("vae_decoder", folder.OnnxPath("vae_decoder")), folder.ReadConfig<VaeConfig>("vae_decoder"), imagesPerRun);

        var expected = whole.Decode(latents, 3, 8, 8, null, CancellationToken.None);
        var actual = sliced.Decode(latents, 3, 8, 8, null, CancellationToken.None);

        Assert.Equal(3 * 3 * 64 * 64, actual.Length);
        Assert.True(expected.Zip(actual, (a, b) => MathF.Abs(a - b)).Max() < 1e-5f);
    }

    [Fact]
    public void A_gpu_only_contrib_op_on_cpu_is_an_error_naming_the_model_the_op_and_the_provider()
    {
        // BiasSplitGelu: one of the fused ops of ONNX Runtime's optimized SD exports; it has a CUDA kernel only.
        var node = SyntheticModels.NamedNode("/unet/mid_block/BiasSplitGelu", "BiasSplitGelu", ["x", "bias"], ["y"], "com.microsoft");
        var graph = OnnxProtoWriter.Graph("g", [node], [OnnxProtoWriter.Tensor("bias", [8], raw: new byte[8 * 4])],
            [OnnxProtoWriter.ValueInfo("x", OnnxProtoWriter.Float, [1, 4, 8])], [OnnxProtoWriter.ValueInfo("y", OnnxProtoWriter.Float, [1, 4, 4])]);
        var model = OnnxProtoWriter.Model(graph).Concat(OnnxProtoWriter.Message(w => OnnxProtoWriter.Field(w, 8, OnnxProtoWriter.Message(o =>
        {
            o.WriteTag(1, Google.Protobuf.WireFormat.WireType.LengthDelimited);
            o.WriteString("com.microsoft");
            o.WriteTag(2, Google.Protobuf.WireFormat.WireType.Varint);
            o.WriteInt64(1);
        })))).ToArray();
        var path = OnnxProtoWriter.Write(_temp, model);

        var error = Assert.Throws<DiffusionException>(() => new OnnxSessionFactory(new OnnxExecutionOptions()).Create("unet", path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("BiasSplitGelu", error.Message, StringComparison.Ordinal);
        Assert.Contains("CUDA", error.Message, StringComparison.Ordinal);
    }
}
