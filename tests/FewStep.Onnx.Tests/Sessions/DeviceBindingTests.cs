using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Models;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using FewStep.Onnx.Tests.Conformance;
using FewStep.Tests;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Tests.Sessions;

/// <summary>
/// The denoising loop's UNet calls go through OrtIoBinding (constants bound once; on CUDA kept in device memory).
/// On the CPU provider the binding is the pipeline's own memory: it must give what a plain Run gives.
/// </summary>
public sealed class DeviceBindingTests
{
    private static readonly string s_folder = Path.Combine(ConformancePaths.Models, "tiny-lcm");

    [Fact]
    public void The_bound_unet_gives_what_a_plain_run_gives_on_cpu()
    {
        var (expected, actual) = RunBoth(new OnnxExecutionOptions());

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Constants_bound_once_serve_every_step()
    {
        using var unet = Open(new OnnxExecutionOptions());
        var conditioning = Conditioning(unet.Config);
        using var buffers = unet.CreateBuffers(conditioning, 8, 8);
        var outputs = new List<float[]>();
        foreach (var t in new[] { 999.0, 499.0, 999.0 })
        {
            Array.Fill(buffers.Sample.Data, 0.5f);
            unet.Run(buffers, t, null, CancellationToken.None);
            outputs.Add(buffers.Output.Data.ToArray());
        }

        // The timestep is rebound each step (different outputs); the conditioning stays bound (same output for t=999).
        Assert.NotEqual(outputs[0], outputs[1]);
        Assert.Equal(outputs[0], outputs[2]);
    }

    [CudaFact]
    public void The_bound_unet_on_cuda_matches_the_cpu_within_float32_tolerance()
    {
        var (cpu, _) = RunBoth(new OnnxExecutionOptions());
        var (_, cuda) = RunBoth(new OnnxExecutionOptions { ExecutionProvider = ExecutionProviderKind.Cuda, FallBackToCpu = false });

        Assert.True(cpu.Zip(cuda, (a, b) => MathF.Abs(a - b)).Max() < 1e-3f);
    }

    private static (float[] Plain, float[] Bound) RunBoth(OnnxExecutionOptions options)
    {
        using var unet = Open(options);
        var conditioning = Conditioning(unet.Config);
        var sample = Enumerable.Range(0, 2 * 4 * 8 * 8).Select(i => MathF.Sin(i * 0.37f)).ToArray();

        using var buffers = unet.CreateBuffers(conditioning, 8, 8);
        sample.CopyTo(buffers.Sample.Data, 0);
        unet.Run(buffers, 499, null, CancellationToken.None);
        var bound = buffers.Output.Data.ToArray();

        using var x = OrtValue.CreateTensorValueFromMemory(sample, [2, 4, 8, 8]);
        using var t = OrtValue.CreateTensorValueFromMemory(new long[] { 499 }, [1]);
        using var e = OrtValue.CreateTensorValueFromMemory(conditioning.EncoderHiddenStates, [2, 77, 32]);
        using var c = OrtValue.CreateTensorValueFromMemory(conditioning.TimestepCond!, [2, 32]);
        using var results = unet.Session.Run(["sample", "timestep", "encoder_hidden_states", "timestep_cond"], [x, t, e, c], ["out_sample"], null, CancellationToken.None);
        return (results[0].GetTensorDataAsSpan<float>().ToArray(), bound);
    }

    private static UNetModel Open(OnnxExecutionOptions options)
    {
        var folder = ModelFolder.Open(s_folder);
        return new UNetModel(new OnnxSessionFactory(options).Create("unet", folder.OnnxPath("unet")), folder.ReadConfig<UNetConfig>("unet"));
    }

    private static UNetConditioning Conditioning(UNetConfig config)
    {
        var hidden = Enumerable.Range(0, 2 * 77 * 32).Select(i => MathF.Cos(i * 0.11f)).ToArray();
        var cond = Enumerable.Range(0, 2 * config.TimeCondProjDim!.Value).Select(i => i * 0.01f).ToArray();
        return new UNetConditioning(2, 77, hidden, null, null, cond, false);
    }
}
