using FewStep.Diffusion;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Pipelines;

namespace FewStep.Onnx.Tests.Pipelines;

public sealed class GenerationTests : IClassFixture<PipelinesFixture>
{
    private readonly PipelinesFixture _fixture;

    public GenerationTests(PipelinesFixture fixture) => _fixture = fixture;

    [Fact]
    public void Same_seed_gives_the_same_image_and_another_seed_another()
    {
        var pipeline = _fixture.Get("tiny-sd-turbo");
        var request = new GenerationRequest { Prompts = ["a red fox"], Width = 64, Height = 64 };

        var first = pipeline.Generate(request, new TorchNoiseSource([7])).Images.Single();
        var again = pipeline.Generate(request, new TorchNoiseSource([7])).Images.Single();
        var other = pipeline.Generate(request, new TorchNoiseSource([8])).Images.Single();

        Assert.Equal(first.Rgb, again.Rgb);
        Assert.NotEqual(first.Rgb, other.Rgb);
    }

    [Fact]
    public void Several_prompts_and_images_per_prompt_run_as_one_batch_in_prompt_major_order()
    {
        var pipeline = _fixture.Get("tiny-sdxl-turbo");
        var request = new GenerationRequest
        {
            Prompts = ["a red fox", "a blue bird"],
            NumImagesPerPrompt = 2,
            NumInferenceSteps = 2,
            Width = 96,
            Height = 64,
        };
        var steps = new List<DenoisingStep>();

        var result = pipeline.Generate(request, new TorchNoiseSource([1, 2, 3, 4]), new StepCounter(steps));

        Assert.Equal([(0, 0), (0, 1), (1, 0), (1, 1)], result.Images.Select(i => (i.PromptIndex, i.ImageIndex)));
        Assert.All(result.Images, i => Assert.Equal((96, 64, 96 * 64 * 3), (i.Width, i.Height, i.Rgb.Length)));
        Assert.Equal(2, steps.Count);
        Assert.Equal(4 * 4 * 8 * 12, steps[0].UNetSample.Length);
        Assert.Equal(2, result.Timings.Stages.Count(s => s.Stage.StartsWith("unet_step_", StringComparison.Ordinal)));
    }

    [Fact]
    public void An_image_depends_on_its_own_seed_not_on_its_batch()
    {
        var pipeline = _fixture.Get("tiny-sd-turbo");
        var single = new GenerationRequest { Prompts = ["a lighthouse"], Width = 64, Height = 64 };
        var pair = single with { NumImagesPerPrompt = 2 };

        var alone = pipeline.Generate(single, new TorchNoiseSource([11])).Images.Single();
        var batched = pipeline.Generate(pair, new TorchNoiseSource([5, 11])).Images[1];

        // Batched matrix kernels may round differently from single-row ones: allow 1 in a few values.
        var diffs = alone.Rgb.Zip(batched.Rgb, (a, b) => Math.Abs(a - b)).ToArray();
        Assert.True(diffs.Max() <= 1, $"max difference {diffs.Max()}");
        Assert.True(diffs.Count(d => d > 0) <= alone.Rgb.Length / 100);
    }

    [Fact]
    public void Classifier_free_guidance_doubles_the_unet_batch_only_above_guidance_one()
    {
        var pipeline = _fixture.Get("tiny-sd-turbo");
        var sizes = new List<DenoisingStep>();

        pipeline.Generate(new GenerationRequest { Prompts = ["x"], GuidanceScale = 1f, Width = 64, Height = 64 }, new TorchNoiseSource([1]), new StepCounter(sizes));
        pipeline.Generate(new GenerationRequest { Prompts = ["x"], GuidanceScale = 1.5f, Width = 64, Height = 64 }, new TorchNoiseSource([1]), new StepCounter(sizes));

        Assert.Equal(4 * 8 * 8, sizes[0].UNetSample.Length);
        Assert.Equal(2 * 4 * 8 * 8, sizes[1].UNetSample.Length);
    }

    [Fact]
    public void Concurrent_generations_on_one_pipeline_match_sequential_ones()
    {
        var pipeline = _fixture.Get("tiny-lcm");
        var request = new GenerationRequest { Prompts = ["a watercolor bird"], NumInferenceSteps = 4, GuidanceScale = 8f, Width = 64, Height = 64 };
        var expected = Enumerable.Range(0, 4).Select(seed => pipeline.Generate(request, TorchNoiseSource.ForSeeds([seed])).Images.Single().Rgb).ToArray();

        var actual = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4)
            .Select(seed => (seed, rgb: pipeline.Generate(request, TorchNoiseSource.ForSeeds([seed])).Images.Single().Rgb))
            .ToArray();

        Assert.All(actual, a => Assert.Equal(expected[a.seed], a.rgb));
    }

    [Fact]
    public void Scheduler_overrides_apply_per_request()
    {
        var pipeline = _fixture.Get("tiny-sdxl-lightning");
        var request = new GenerationRequest { Prompts = ["a lighthouse"], Width = 64, Height = 64 };
        var epsilon = new List<DenoisingStep>();
        var sample = new List<DenoisingStep>();

        pipeline.Generate(request, new TorchNoiseSource([3]), new StepCounter(epsilon, copy: true));
        pipeline.Generate(request with { SchedulerOverrides = new Dictionary<string, System.Text.Json.JsonElement> { ["prediction_type"] = Json("\"sample\"") } },
            new TorchNoiseSource([3]), new StepCounter(sample, copy: true));

        // prediction_type "sample": one Euler step to sigma 0 lands on the model output (up to float rounding).
        Assert.True(MaxDiff(sample[0].ModelOutput, sample[0].PrevSample) < 1e-4f);
        Assert.True(MaxDiff(epsilon[0].ModelOutput, epsilon[0].PrevSample) > 1f);
        Assert.Equal("epsilon", pipeline.SchedulerConfig.PredictionType);
    }

    [Fact]
    public void Cancellation_stops_between_steps()
    {
        var pipeline = _fixture.Get("tiny-sd-turbo");
        using var cts = new CancellationTokenSource();
        var observer = new CancelAfterFirstStep(cts);

        Assert.ThrowsAny<OperationCanceledException>(() =>
            pipeline.Generate(new GenerationRequest { Prompts = ["x"], NumInferenceSteps = 4, Width = 64, Height = 64 },
                new TorchNoiseSource([1]), observer, cts.Token));
        Assert.Equal(1, observer.Steps);
    }

    [Fact]
    public void Cancellation_reaches_inside_onnx_runtime()
    {
        var pipeline = _fixture.Get("tiny-sd-turbo");
        using var cts = new CancellationTokenSource();
        var request = new GenerationRequest { Prompts = ["x"], NumImagesPerPrompt = 4, Width = 512, Height = 512 };
        var observer = new CancelAtVaeInput(cts);

        var error = Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Generate(request, new TorchNoiseSource([1, 2, 3, 4]), observer, cts.Token));

        Assert.Equal(cts.Token, error.CancellationToken);
    }

    [Fact]
    public void A_non_finite_unet_output_is_a_clear_error_at_its_step_not_a_black_png()
    {
        // NaN latents stand in for a float16 UNet overflowing: the loop stops at the step it happened, before the VAE.
        var pipeline = _fixture.Get("tiny-sd-turbo");
        var steps = new List<DenoisingStep>();
        var observer = new StepCounter(steps);

        var error = Assert.Throws<DiffusionException>(() =>
            pipeline.Generate(new GenerationRequest { Prompts = ["x"], Width = 64, Height = 64, NumInferenceSteps = 2 }, new NaNNoise(), observer));

        Assert.Contains("The unet of 'tiny-sd-turbo' produced NaN", error.Message, StringComparison.Ordinal);
        Assert.Contains("at step 0", error.Message, StringComparison.Ordinal);
        Assert.Contains("float16", error.Message, StringComparison.Ordinal);
        Assert.Contains("No image was written", error.Message, StringComparison.Ordinal);
        Assert.Empty(steps);
    }

    [Fact]
    public void Timings_cover_every_stage_and_onnx_time_is_part_of_the_total()
    {
        var pipeline = _fixture.Get("tiny-sdxl-turbo");

        var timings = pipeline.Generate(new GenerationRequest { Prompts = ["x"], NumInferenceSteps = 2, Width = 64, Height = 64 }, new TorchNoiseSource([1])).Timings;

        Assert.Equal(
            ["tokenize", "text_encode", "unet_step_0", "scheduler_step_0", "unet_step_1", "scheduler_step_1", "vae_scale", "vae_decode", "postprocess"],
            timings.Stages.Select(s => s.Stage));
        Assert.InRange(timings.OnnxTotal, TimeSpan.FromTicks(1), timings.Total);
        Assert.True(timings.OverheadRatio >= 1.0);
    }

    private static float MaxDiff(ReadOnlyMemory<float> a, ReadOnlyMemory<float> b) =>
        a.ToArray().Zip(b.ToArray(), (x, y) => Math.Abs(x - y)).Max();

    private static System.Text.Json.JsonElement Json(string text) => System.Text.Json.JsonDocument.Parse(text).RootElement.Clone();

    private sealed class StepCounter(List<DenoisingStep> steps, bool copy = false) : IPipelineObserver
    {
        public void OnStep(DenoisingStep step) => steps.Add(copy
            ? step with { ModelOutput = step.ModelOutput.ToArray(), PrevSample = step.PrevSample.ToArray() }
            : step);
    }

    private sealed class CancelAfterFirstStep(CancellationTokenSource cts) : IPipelineObserver
    {
        public int Steps { get; private set; }

        public void OnStep(DenoisingStep step)
        {
            Steps++;
            cts.Cancel();
        }
    }

    private sealed class CancelAtVaeInput(CancellationTokenSource cts) : IPipelineObserver
    {
        // A thread of its own, not CancelAfter: its timer callback needs a thread-pool thread, and with the test runner's
        // threads blocked in ONNX Runtime on two cores it waited for the pool to grow (half a second) past the decode.
        public void OnVaeInput(ReadOnlyMemory<float> latents) => new Thread(() =>
        {
            Thread.Sleep(5);
            cts.Cancel();
        }) { IsBackground = true }.Start();
    }

    private sealed class NaNNoise : INoiseSource
    {
        public void FillStandardNormal(NoiseDraw draw, Span<float> destination) => destination.Fill(float.NaN);
    }
}
