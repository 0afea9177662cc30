using FewStep.Diffusion.Configuration;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Previews;
using FewStep.Onnx.Sessions;
using FewStep.Onnx.Tests.Pipelines;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Onnx.Tests.Previews;

/// <summary>
/// Live previews: the linear latent-to-RGB projection with ComfyUI's factors, the fit to 128 px, previews of the
/// real tiny pipelines' steps, a tiny autoencoder in <c>vae_decoder_tiny/</c>, and the budget that keeps previews
/// off fast generations.
/// </summary>
public sealed class LatentPreviewerTests : IClassFixture<PipelinesFixture>
{
    private readonly PipelinesFixture _pipelines;

    public LatentPreviewerTests(PipelinesFixture pipelines) => _pipelines = pipelines;

    [Fact]
    public void The_projection_is_latent_times_factors_plus_bias_mapped_from_minus_one_one()
    {
        // One pixel; channel 0 at 1, the others 0: RGB = row 0 (+ bias), then (x + 1) / 2.
        float[] latents = [1f, 0f, 0f, 0f];

        var sd = new LatentPreviewer(LatentRgbFactors.StableDiffusion).Render(latents, 4, 1, 1);
        var xl = new LatentPreviewer(LatentRgbFactors.StableDiffusionXL).Render(latents, 4, 1, 1);

        Assert.Equal([Byte(0.3512f), Byte(0.2297f), Byte(0.3227f)], sd.Rgb);
        Assert.Equal([Byte(0.3651f + 0.1084f), Byte(0.4232f - 0.0175f), Byte(0.4341f - 0.0011f)], xl.Rgb);
        Assert.Equal(("latent2rgb-sd15", "latent2rgb-sdxl"), (sd.Method, xl.Method));

        static byte Byte(float v) => (byte)Math.Round(Math.Clamp((v + 1f) / 2f, 0f, 1f) * 255f);
    }

    [Theory]
    [InlineData(64, 64, 64, 64)]
    [InlineData(128, 128, 128, 128)]
    [InlineData(256, 256, 128, 128)]
    [InlineData(128, 192, 85, 128)]
    [InlineData(300, 100, 128, 43)]
    public void Previews_fit_128_pixels_on_the_long_side_keeping_the_aspect(int height, int width, int expectedHeight, int expectedWidth)
    {
        var latents = new float[4 * height * width];

        var image = new LatentPreviewer(LatentRgbFactors.StableDiffusion).Render(latents, 4, height, width);

        Assert.Equal((expectedHeight, expectedWidth), (image.Height, image.Width));
        Assert.Equal(expectedHeight * expectedWidth * 3, image.Rgb.Length);
    }

    [Fact]
    public void Pooling_averages_the_cells_each_target_pixel_covers()
    {
        // One channel, 2x4 → 1x2: the mean of each 2x2 block.
        float[] plane = [1, 2, 10, 20, 3, 4, 30, 40];

        var pooled = LatentPreviewer.Pool(plane, 1, 2, 4, 1, 2);

        Assert.Equal([2.5f, 25f], pooled);
    }

    [Theory]
    [InlineData("tiny-sd-turbo", "latent2rgb-sd15")]
    [InlineData("tiny-lcm", "latent2rgb-sd15")]
    [InlineData("tiny-sdxl-turbo", "latent2rgb-sdxl")]
    public void Each_step_of_a_real_pipeline_previews_the_first_image_of_the_batch(string model, string method)
    {
        var pipeline = _pipelines.Get(model);
        var previews = new List<(int Step, PreviewImage Image)>();
        var observer = new StepPreviews(pipeline.Previewer, previews);

        var result = pipeline.Generate(new GenerationRequest { Prompts = ["a red fox"], NumImagesPerPrompt = 2, NumInferenceSteps = 3, Width = 128, Height = 64 },
            TorchNoiseSource.ForSeeds([1, 2]), observer);

        Assert.Equal([0, 1, 2], previews.Select(p => p.Step));
        Assert.All(previews, p => Assert.Equal((8, 16, method), (p.Image.Height, p.Image.Width, p.Image.Method)));
        Assert.NotEqual(Convert.ToHexString(previews[0].Image.Rgb), Convert.ToHexString(previews[2].Image.Rgb));

        // The preview is of image 0: the same seed alone gives the same preview at its last step.
        var alone = new List<(int Step, PreviewImage Image)>();
        pipeline.Generate(new GenerationRequest { Prompts = ["a red fox"], NumInferenceSteps = 3, Width = 128, Height = 64 },
            TorchNoiseSource.ForSeeds([1]), new StepPreviews(pipeline.Previewer, alone));
        Assert.Equal(previews[2].Image.Rgb, alone[2].Image.Rgb);

        // A PNG data URL that decodes to the preview.
        var url = previews[2].Image.ToDataUrl();
        Assert.StartsWith("data:image/png;base64,", url, StringComparison.Ordinal);
        using var png = Image.Load<Rgb24>(Convert.FromBase64String(url["data:image/png;base64,".Length..]));
        Assert.Equal((16, 8), (png.Width, png.Height));
        Assert.Equal(2, result.Images.Count);
    }

    [Fact]
    public void A_tiny_autoencoder_in_vae_decoder_tiny_decodes_the_preview()
    {
        // A stand-in for TAESD with the real layout and names: the tiny model's own decoder (latent_sample → sample, ×8).
        var temp = Directory.CreateTempSubdirectory("fewstep-taesd-").FullName;
        try
        {
            CheckTinyAutoencoder(ConformancePaths.CopyModel("tiny-sd-turbo", temp));
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private static void CheckTinyAutoencoder(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, TinyAutoencoder.Component));
        File.Copy(Path.Combine(folder, "vae_decoder", "model.onnx"), Path.Combine(folder, TinyAutoencoder.Component, "model.onnx"));
        var sessions = new OnnxSessionFactory(new OnnxExecutionOptions());
        using var pipeline = DiffusionPipeline.Load(folder, sessions);
        var previews = new List<(int Step, PreviewImage Image)>();
        float[]? x0 = null;
        var observer = new StepPreviews(pipeline.Previewer, previews, step => x0 = step.PredOriginalSample.ToArray());

        pipeline.Generate(new GenerationRequest { Prompts = ["a red fox"], NumInferenceSteps = 2, Width = 64, Height = 64 }, TorchNoiseSource.ForSeeds([3]), observer);

        Assert.Equal("taesd", pipeline.Previewer.Method);
        var last = previews[^1].Image;
        Assert.Equal((64, 64), (last.Width, last.Height));

        // The same decoder run on the step's x0 as it is (scaling factor 1), postprocessed as diffusers does.
        var decoded = pipeline.VaeDecoder.Decode(x0!, 1, 8, 8, null, CancellationToken.None);
        var expected = new byte[64 * 64 * 3];
        for (var p = 0; p < 64 * 64; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                expected[(p * 3) + c] = (byte)Math.Round(Math.Clamp((decoded[(c * 64 * 64) + p] / 2f) + 0.5f, 0f, 1f) * 255f);
            }
        }

        Assert.Equal(expected, last.Rgb);
    }

    [Fact]
    public void The_budget_keeps_previews_off_the_last_step_and_off_generations_too_fast_for_them()
    {
        var pipeline = _pipelines.Get("tiny-sd-turbo");
        var request = new GenerationRequest { Prompts = ["a red fox"], NumInferenceSteps = 4, Width = 64, Height = 64 };
        var previewer = pipeline.Previewer;
        var made = new List<int>();

        // No estimate yet and no interval: every step but the last (whose image follows at once) may get one.
        previewer.LastCost = TimeSpan.Zero;
        var first = new PreviewingObserver(previewer, TimeSpan.Zero, (step, _) => made.Add(step.Index));
        pipeline.Generate(request, TorchNoiseSource.ForSeeds([1]), first);
        Assert.NotEmpty(made);
        Assert.DoesNotContain(3, made);
        Assert.Equal(first.Made, made.Count);

        // A preview that costs more than 2% of a step never runs.
        made.Clear();
        previewer.LastCost = TimeSpan.FromSeconds(10);
        var costly = new PreviewingObserver(previewer, TimeSpan.Zero, (step, _) => made.Add(step.Index));
        pipeline.Generate(request, TorchNoiseSource.ForSeeds([1]), costly);
        Assert.Empty(made);

        // The interval: at most one within it.
        previewer.LastCost = TimeSpan.Zero;
        var slow = new PreviewingObserver(previewer, TimeSpan.FromHours(1), (step, _) => made.Add(step.Index));
        pipeline.Generate(request, TorchNoiseSource.ForSeeds([1]), slow);
        Assert.True(made.Count <= 1, $"{made.Count} previews within the interval");
        previewer.LastCost = TimeSpan.Zero;
    }

    private sealed class StepPreviews(LatentPreviewer previewer, List<(int Step, PreviewImage Image)> previews, Action<DenoisingStep>? seen = null) : IPipelineObserver
    {
        public void OnStep(DenoisingStep step)
        {
            seen?.Invoke(step);
            previews.Add((step.Index, previewer.Render(step)));
        }
    }
}
