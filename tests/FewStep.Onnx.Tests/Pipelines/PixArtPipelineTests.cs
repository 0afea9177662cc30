using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Models;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Tests.Pipelines;

/// <summary>The PixArt pipeline on tiny-pixart-lcm: loading by family, request validation, guidance, sizes, binning.</summary>
public sealed class PixArtPipelineTests : IClassFixture<PixArtPipelineTests.Fixture>
{
    private readonly Fixture _fixture;

    public PixArtPipelineTests(Fixture fixture) => _fixture = fixture;

    private ITextToImagePipeline Pipeline => _fixture.Pipeline;

    public static TheoryData<string, string> BadRequests() => new()
    {
        { "prompt_2", "prompt_2" },
        { "negative_prompt_2", "negative_prompt_2" },
        { "width not a multiple of 16", "width" },
        { "height a multiple of 8 only", "height" },
        { "negative count", "negative_prompt" },
        { "blank prompt", "prompt[0]" },
        { "zero steps", "num_inference_steps" },
    };

    [Fact]
    public void The_loader_picks_the_pixart_pipeline_and_reads_its_geometry()
    {
        Assert.IsType<PixArtPipeline>(Pipeline);
        Assert.Equal(PipelineFamily.PixArt, Pipeline.Family);
        Assert.Equal(16, Pipeline.SizeMultiple);
        Assert.Equal(1024, Pipeline.DefaultSize);
        Assert.Equal("LCMScheduler", Pipeline.SchedulerConfig.ClassName);
        Assert.Equal(ExecutionProviderKind.Cpu, Pipeline.Provider);
    }

    [Fact]
    public void The_sd_pipeline_class_refuses_a_pixart_folder_and_the_loader_still_loads_sd()
    {
        var error = Assert.Throws<DiffusionException>(() => DiffusionPipeline.Load(ConformancePaths.Model("tiny-pixart-lcm"), _fixture.Sessions));
        Assert.Contains("TextToImagePipeline", error.Message, StringComparison.Ordinal);

        using var sd = TextToImagePipeline.Load(ConformancePaths.Model("tiny-sd-turbo"), _fixture.Sessions);
        Assert.IsType<DiffusionPipeline>(sd);
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void Bad_request_names_the_field(string kind, string field)
    {
        var request = Make(kind);

        var error = Assert.Throws<DiffusionException>(() => Pipeline.Generate(request, new TorchNoiseSource([1])));

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolution_binning_is_rejected_by_other_families()
    {
        using var sd = TextToImagePipeline.Load(ConformancePaths.Model("tiny-sd-turbo"), _fixture.Sessions);

        var error = Assert.Throws<DiffusionException>(() => sd.Generate(
            new GenerationRequest { Prompts = ["x"], Width = 64, Height = 64, UseResolutionBinning = true }, new TorchNoiseSource([1])));

        Assert.Contains("use_resolution_binning", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Guidance_above_one_runs_cfg_with_negative_rows_first_and_splits_the_learned_sigma()
    {
        var observer = new Observer();

        var result = Pipeline.Generate(
            new GenerationRequest { Prompts = ["a cat"], NegativePrompts = ["blurry"], GuidanceScale = 4.5f, NumInferenceSteps = 2, Width = 64, Height = 96 },
            new TorchNoiseSource([7]),
            observer);

        var image = Assert.Single(result.Images);
        Assert.Equal((64, 96), (image.Width, image.Height));
        Assert.Equal(["prompt", "negative"], observer.TokenizedKinds);
        var conditioning = observer.Conditioning!;
        Assert.True(conditioning.ClassifierFreeGuidance);
        Assert.Equal(2, conditioning.Rows);
        Assert.Equal([96f, 64f, 96f, 64f], conditioning.Resolution!);
        Assert.Equal([1.5f, 1.5f], conditioning.AspectRatio!);
        var step = observer.Steps[0];
        var plane = (96 / 8) * (64 / 8);
        Assert.Equal(2 * 4 * plane, step.UNetSample.Length);
        Assert.Equal(2 * 8 * plane, step.UNetOutput.Length);
        Assert.Equal(4 * plane, step.ModelOutput.Length);
        Assert.Equal([999L, 999L], step.TimestepInput);

        // model_output = uncond + g (cond − uncond) on the first 4 of the 8 channels.
        var output = step.UNetOutput.Span;
        var modelOutput = step.ModelOutput.Span;
        var half = 8 * plane;
        for (var i = 0; i < 4 * plane; i += 37)
        {
            var expected = output[i] + (4.5f * (output[half + i] - output[i]));
            Assert.Equal(expected, modelOutput[i], 1e-4f);
        }
    }

    [Fact]
    public void Without_guidance_the_negative_prompt_is_not_encoded()
    {
        var observer = new Observer();

        Pipeline.Generate(new GenerationRequest { Prompts = ["a cat"], NegativePrompts = ["blurry"], GuidanceScale = 1f, Width = 64, Height = 64 },
            new TorchNoiseSource([7]), observer);

        Assert.Equal(["prompt"], observer.TokenizedKinds);
        Assert.False(observer.Conditioning!.ClassifierFreeGuidance);
    }

    [Fact]
    public void Images_per_prompt_repeat_the_embeddings_per_prompt_and_tile_the_mask_as_diffusers_does()
    {
        var observer = new Observer();

        var result = Pipeline.Generate(
            new GenerationRequest { Prompts = ["a", "b c d"], NumImagesPerPrompt = 2, Width = 64, Height = 64 },
            new TorchNoiseSource([1, 2, 3, 4]), observer);

        Assert.Equal(4, result.Images.Count);
        var c = observer.Conditioning!;
        var masks = Enumerable.Range(0, 4).Select(r => c.EncoderAttentionMask.AsSpan(r * 120, 120).ToArray().Sum()).ToArray();

        // "a" → 2 tokens (▁a, </s>), "b c d" → more: diffusers' mask.view(bs, -1).repeat(n, 1) gives p0, p1, p0, p1.
        Assert.Equal(masks[0], masks[2]);
        Assert.Equal(masks[1], masks[3]);
        Assert.NotEqual(masks[0], masks[1]);
        var width = c.HiddenWidth;
        Assert.Equal(c.EncoderHiddenStates.AsSpan(0, 120 * width).ToArray(), c.EncoderHiddenStates.AsSpan(120 * width, 120 * width).ToArray());
    }

    [Fact]
    public void Resolution_binning_generates_at_the_bin_and_resizes_back()
    {
        var observer = new Observer();

        var result = Pipeline.Generate(
            new GenerationRequest { Prompts = ["a cat"], Width = 64, Height = 64, UseResolutionBinning = true, NumInferenceSteps = 1 },
            new TorchNoiseSource([3]), observer);

        // 64x64 classifies to the 1024x1024 bin: the transformer sees 128x128 latents and the 1024 condition.
        Assert.Equal([1024f, 1024f], observer.Conditioning!.Resolution!);
        Assert.Equal(4 * 128 * 128, observer.Steps[0].ModelOutput.Length);
        var image = Assert.Single(result.Images);
        Assert.Equal((64, 64, 64 * 64 * 3), (image.Width, image.Height, image.Rgb.Length));
    }

    private static GenerationRequest Make(string kind)
    {
        var ok = new GenerationRequest { Prompts = ["a fox"], Width = 64, Height = 64 };
        return kind switch
        {
            "prompt_2" => ok with { Prompts2 = ["b"] },
            "negative_prompt_2" => ok with { NegativePrompts2 = ["b"] },
            "width not a multiple of 16" => ok with { Width = 72 },
            "height a multiple of 8 only" => ok with { Height = 56 },
            "negative count" => ok with { Prompts = ["a", "b", "c"], NegativePrompts = ["n1", "n2"] },
            "blank prompt" => ok with { Prompts = [" "] },
            "zero steps" => ok with { NumInferenceSteps = 0 },
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    public sealed class Fixture : IDisposable
    {
        public Fixture() => Pipeline = TextToImagePipeline.Load(ConformancePaths.Model("tiny-pixart-lcm"), Sessions);

        public OnnxSessionFactory Sessions { get; } = new(new OnnxExecutionOptions());

        public ITextToImagePipeline Pipeline { get; }

        public void Dispose() => Pipeline.Dispose();
    }

    private sealed class Observer : IPipelineObserver
    {
        public List<string> TokenizedKinds { get; } = [];

        public TransformerConditioning? Conditioning { get; private set; }

        public List<DenoisingStep> Steps { get; } = [];

        public void OnTokenized(string tokenizer, string kind, IReadOnlyList<int[]> ids) => TokenizedKinds.Add(kind);

        public void OnTransformerConditioning(TransformerConditioning conditioning) => Conditioning = conditioning;

        // The pipeline reuses its buffers: keep copies.
        public void OnStep(DenoisingStep step) => Steps.Add(step with
        {
            UNetSample = step.UNetSample.ToArray(),
            UNetOutput = step.UNetOutput.ToArray(),
            ModelOutput = step.ModelOutput.ToArray(),
            PrevSample = step.PrevSample.ToArray(),
            PredOriginalSample = step.PredOriginalSample.ToArray(),
        });
    }
}
