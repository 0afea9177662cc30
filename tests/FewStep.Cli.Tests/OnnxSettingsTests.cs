using FewStep.Cli.Infrastructure;
using FewStep.Onnx.Sessions;

namespace FewStep.Cli.Tests;

public sealed class OnnxSettingsTests
{
    [Fact]
    public void The_cli_reads_onnx_settings_from_the_environment_as_the_app_does()
    {
        Environment.SetEnvironmentVariable("Onnx__EnableCpuMemArena", "false");
        Environment.SetEnvironmentVariable("Onnx__VaeDecodeBatch", "2");
        Environment.SetEnvironmentVariable("Onnx__ExecutionProvider", "Cuda");
        try
        {
            var options = PipelineLoader.ExecutionOptions(ExecutionProviderKind.Cpu);

            Assert.False(options.EnableCpuMemArena);
            Assert.Equal(2, options.VaeDecodeBatch);
            Assert.Equal(ExecutionProviderKind.Cpu, options.ExecutionProvider); // --device decides
            Assert.True(options.FallBackToCpu);
        }
        finally
        {
            Environment.SetEnvironmentVariable("Onnx__EnableCpuMemArena", null);
            Environment.SetEnvironmentVariable("Onnx__VaeDecodeBatch", null);
            Environment.SetEnvironmentVariable("Onnx__ExecutionProvider", null);
        }
    }

    [Fact]
    public void A_cli_run_searches_cudnn_algorithms_heuristically_unless_told_otherwise()
    {
        Assert.Equal("HEURISTIC", PipelineLoader.ExecutionOptions(ExecutionProviderKind.Cuda).CudnnConvAlgoSearch);
        Assert.Equal("EXHAUSTIVE", new OnnxExecutionOptions().CudnnConvAlgoSearch);
    }
}
