using FewStep.Diffusion.Noise;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using FewStep.Onnx.Tests.Conformance;

namespace FewStep.Onnx.Tests.Pipelines;

/// <summary>
/// Every family's denoiser bindings through CUDA graph slots (on CPU: the same device tensors, uploads and
/// read-backs, without capture): SDXL's pooled embeddings and time ids, LCM's guidance embedding, PixArt's mask and
/// per-row timesteps. Whole generations must give the images the plain binding gives, bit for bit.
/// </summary>
public sealed class GraphSlotPipelineTests
{
    [Theory]
    [InlineData("tiny-sd-turbo", 2, 0f)]
    [InlineData("tiny-sdxl-turbo", 2, 2f)]
    [InlineData("tiny-lcm", 4, 8f)]
    [InlineData("tiny-pixart-lcm", 2, 0f)]
    public void Generations_through_graph_slots_match_the_plain_binding(string model, int steps, float guidance)
    {
        var sessions = new OnnxSessionFactory(new OnnxExecutionOptions());
        using var plain = TextToImagePipeline.Load(ConformancePaths.Model(model), sessions);
        using var slotted = TextToImagePipeline.Load(ConformancePaths.Model(model), sessions);
        var denoiser = slotted switch
        {
            DiffusionPipeline sd => sd.UNet.Session,
            PixArtPipeline pixart => pixart.Transformer.Session,
            _ => throw new InvalidOperationException(slotted.GetType().Name),
        };
        denoiser.UseCudaGraphs(2);

        foreach (var prompt in new[] { "a red fox", "a blue whale" })
        {
            var request = new GenerationRequest { Prompts = [prompt], NumImagesPerPrompt = 2, Width = 64, Height = 64, NumInferenceSteps = steps, GuidanceScale = guidance };

            var expected = plain.Generate(request, new TorchNoiseSource([5, 6])).Images;
            var actual = slotted.Generate(request, new TorchNoiseSource([5, 6])).Images;

            Assert.Equal(expected.Select(i => i.Rgb), actual.Select(i => i.Rgb));
        }

        // The second prompt's generation reused the first one's slot: same shapes, its own conditioning.
        Assert.Equal(1, slotted.CudaGraphs);
        Assert.Null(plain.CudaGraphs);
    }
}
