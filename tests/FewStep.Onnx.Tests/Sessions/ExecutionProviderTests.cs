using FewStep.Conformance;
using FewStep.Diffusion;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Tests.Sessions;

public sealed class ExecutionProviderTests
{
    private static string UNetPath => Path.Combine(ConformancePaths.Model("tiny-sd-turbo"), "unet", "model.onnx");

    [Fact]
    public void Cuda_without_a_gpu_falls_back_to_cpu_and_says_why()
    {
        if (CudaFactAttribute.HasCudaGpu)
        {
            return; // On a GPU machine the CUDA fact below covers the other branch.
        }

        var factory = new OnnxSessionFactory(new OnnxExecutionOptions { ExecutionProvider = ExecutionProviderKind.Cuda });

        using var session = factory.Create("unet", UNetPath);

        Assert.Equal(ExecutionProviderKind.Cpu, session.Provider);
        Assert.False(string.IsNullOrWhiteSpace(factory.CudaFailure));
    }

    [Fact]
    public void Cuda_without_fallback_and_without_a_gpu_is_a_clear_error()
    {
        if (CudaFactAttribute.HasCudaGpu)
        {
            return;
        }

        var factory = new OnnxSessionFactory(new OnnxExecutionOptions { ExecutionProvider = ExecutionProviderKind.Cuda, FallBackToCpu = false, DeviceId = 0 });

        var error = Assert.Throws<DiffusionException>(() => factory.Create("unet", UNetPath));

        Assert.Contains("CUDA device 0", error.Message, StringComparison.Ordinal);
        Assert.Contains("FallBackToCpu", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1, 0, "DeviceId")]
    [InlineData(0, -2, "IntraOpNumThreads")]
    public void Invalid_options_name_the_setting(int deviceId, int threads, string setting)
    {
        var options = new OnnxExecutionOptions { DeviceId = deviceId, IntraOpNumThreads = threads };

        var error = Assert.Throws<DiffusionException>(() => new OnnxSessionFactory(options));

        Assert.Contains($"Onnx:{setting}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_model_file_names_it()
    {
        var factory = new OnnxSessionFactory(new OnnxExecutionOptions());

        var error = Assert.Throws<DiffusionException>(() => factory.Create("unet", "/no/such/model.onnx"));

        Assert.Contains("/no/such/model.onnx", error.Message, StringComparison.Ordinal);
    }

    [CudaFact]
    public void Cuda_runs_a_conformance_case()
    {
        var factory = new OnnxSessionFactory(new OnnxExecutionOptions { ExecutionProvider = ExecutionProviderKind.Cuda, FallBackToCpu = false });
        using var runner = new CaseRunner(ConformancePaths.Models, factory);

        var result = runner.Run(ConformanceCase.Load(Path.Combine(ConformancePaths.Cases, "sdxl_turbo_2step_batch2")));

        Assert.True(result.Passed, string.Join("\n", result.Failures));
    }
}
