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

    [Fact]
    public void Buffers_run_only_on_the_unet_they_are_bound_to()
    {
        using var first = Open(new OnnxExecutionOptions());
        using var second = Open(new OnnxExecutionOptions());
        using var buffers = first.CreateBuffers(Conditioning(first.Config), 8, 8);

        var error = Assert.Throws<ArgumentException>(() => second.Run(buffers, 999, null, CancellationToken.None));

        Assert.Contains("another UNet", error.Message, StringComparison.Ordinal);
    }

    [CudaFact]
    public void The_bound_unet_on_cuda_matches_the_cpu_within_float32_tolerance()
    {
        var (cpu, _) = RunBoth(new OnnxExecutionOptions());
        var (_, cuda) = RunBoth(new OnnxExecutionOptions { ExecutionProvider = ExecutionProviderKind.Cuda, FallBackToCpu = false });

        Assert.True(cpu.Zip(cuda, (a, b) => MathF.Abs(a - b)).Max() < 1e-3f);
    }

    [Fact]
    public void A_graph_slot_serves_later_generations_of_its_shape_with_their_own_conditioning()
    {
        // CUDA graph slots on CPU: the same device-tensor binding, uploads and read-backs, without the capture.
        using var plain = Open(new OnnxExecutionOptions());
        using var graphs = Open(new OnnxExecutionOptions());
        graphs.Session.UseCudaGraphs(2);

        foreach (var phase in new[] { 0.0f, 1.3f })
        {
            var conditioning = Conditioning(plain.Config, phase);
            var (expected, _) = Steps(plain, conditioning, 8);
            var (actual, graphId) = Steps(graphs, conditioning, 8);

            Assert.Equal(expected, actual);
            Assert.Equal(1, graphId); // the second generation takes the first one's slot again
        }

        Assert.Equal(1, graphs.Session.CudaGraphs!.Count);
    }

    [Fact]
    public void Concurrent_generations_take_a_slot_each_and_past_the_pool_run_without_one()
    {
        using var plain = Open(new OnnxExecutionOptions());
        using var graphs = Open(new OnnxExecutionOptions());
        graphs.Session.UseCudaGraphs(3);
        var conditioning = Conditioning(plain.Config, 0.4f);

        // Three generations at once of one shape, and one of another: slots 1 and 2, then one for 16×16, then none.
        var held = new[] { 8, 8, 16, 8 }.Select(size => (Size: size, Buffers: graphs.CreateBuffers(conditioning, size, size))).ToList();
        try
        {
            var ids = new List<int?>();
            foreach (var (size, buffers) in held)
            {
                Array.Fill(buffers.Sample.Data, 0.25f);
                graphs.Run(buffers, 499, null, CancellationToken.None);
                ids.Add(buffers.Binding.GraphId);
                using var reference = plain.CreateBuffers(conditioning, size, size);
                Array.Fill(reference.Sample.Data, 0.25f);
                plain.Run(reference, 499, null, CancellationToken.None);
                Assert.Equal(reference.Output.Data, buffers.Output.Data);
            }

            Assert.Equal([1, 2, 3, null], ids);
        }
        finally
        {
            held.ForEach(h => h.Buffers.Dispose());
        }

        // Released: the next 8×8 generation takes slot 1 again, and no new graph is made.
        using (var again = graphs.CreateBuffers(conditioning, 8, 8))
        {
            graphs.Run(again, 499, null, CancellationToken.None);
            Assert.Equal(1, again.Binding.GraphId);
        }

        Assert.Equal(3, graphs.Session.CudaGraphs!.Count);
    }

    [CudaFact]
    public void With_cuda_graphs_the_unet_steps_match_the_ones_without()
    {
        var cuda = new OnnxExecutionOptions { ExecutionProvider = ExecutionProviderKind.Cuda, FallBackToCpu = false };
        using var plain = Open(cuda);
        using var graphs = Open(new OnnxExecutionOptions { ExecutionProvider = ExecutionProviderKind.Cuda, FallBackToCpu = false, EnableCudaGraph = true });
        foreach (var phase in new[] { 0.0f, 1.3f })
        {
            var conditioning = Conditioning(plain.Config, phase);
            var (expected, _) = Steps(plain, conditioning, 8);
            var (actual, _) = Steps(graphs, conditioning, 8);

            Assert.True(expected.Zip(actual, (a, b) => MathF.Abs(a - b)).Max() < 1e-4f);
        }
    }

    // Four steps at timesteps 999..249 on one generation's buffers, each step's output fed back in as the sample.
    private static (float[] Outputs, int? GraphId) Steps(UNetModel unet, UNetConditioning conditioning, int size)
    {
        using var buffers = unet.CreateBuffers(conditioning, size, size);
        var outputs = new List<float>();
        Array.Fill(buffers.Sample.Data, 0.5f);
        foreach (var t in new[] { 999.0, 749.0, 499.0, 249.0 })
        {
            unet.Run(buffers, t, null, CancellationToken.None);
            outputs.AddRange(buffers.Output.Data);
            buffers.Output.Data.AsSpan().CopyTo(buffers.Sample.Data);
        }

        return (outputs.ToArray(), buffers.Binding.GraphId);
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

    private static UNetConditioning Conditioning(UNetConfig config, float phase = 0)
    {
        var hidden = Enumerable.Range(0, 2 * 77 * 32).Select(i => MathF.Cos((i * 0.11f) + phase)).ToArray();
        var cond = Enumerable.Range(0, 2 * config.TimeCondProjDim!.Value).Select(i => i * 0.01f).ToArray();
        return new UNetConditioning(2, 77, hidden, null, null, cond, false);
    }
}
