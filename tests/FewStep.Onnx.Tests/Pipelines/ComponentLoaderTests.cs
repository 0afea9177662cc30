using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Models;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using FewStep.Onnx.Tests.Conformance;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Tests.Pipelines;

public sealed class ComponentLoaderTests
{
    private static readonly ModelFolder s_folder = ModelFolder.Open(Path.Combine(ConformancePaths.Models, "tiny-sd-turbo"));

    [Fact]
    public void Components_on_one_provider_are_not_split()
    {
        using var loader = new ComponentLoader();
        loader.Add(Vae(ExecutionProviderKind.Cpu));
        loader.Add(Vae(ExecutionProviderKind.Cpu));

        Assert.False(loader.SplitAcrossProviders);
    }

    [Fact]
    public void A_component_that_fell_back_to_cpu_beside_cuda_ones_is_a_split_and_disposing_twice_is_safe()
    {
        // Labelled CUDA: what a session placed before CUDA failed for a later component would say.
        var loader = new ComponentLoader();
        loader.Add(Vae(ExecutionProviderKind.Cuda));
        loader.Add(Vae(ExecutionProviderKind.Cpu));

        Assert.True(loader.SplitAcrossProviders);
        loader.Dispose();
        loader.Dispose();
        Assert.False(loader.SplitAcrossProviders);
    }

    private static VaeDecoderModel Vae(ExecutionProviderKind label)
    {
        var path = s_folder.OnnxPath("vae_decoder");
        var session = new OnnxModelSession("vae_decoder", path, new InferenceSession(path), label);
        return new VaeDecoderModel(session, s_folder.ReadConfig<VaeConfig>("vae_decoder"));
    }
}
