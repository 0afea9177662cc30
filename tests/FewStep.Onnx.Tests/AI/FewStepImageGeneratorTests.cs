using System.Text.Json;
using FewStep.Diffusion;
using FewStep.Onnx.AI;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Tests.Conformance;
using FewStep.Onnx.Tests.Pipelines;
using Microsoft.Extensions.AI;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Size = System.Drawing.Size;

namespace FewStep.Onnx.Tests.AI;

/// <summary>FewStep behind Microsoft.Extensions.AI's IImageGenerator, as code written for any image generator uses it.</summary>
public sealed class FewStepImageGeneratorTests : IClassFixture<PipelinesFixture>
{
    private readonly PipelinesFixture _fixture;

    public FewStepImageGeneratorTests(PipelinesFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task Draws_pngs_with_their_parameters_through_the_abstraction()
    {
        var generator = Abstraction(new FewStepImageGenerator(_fixture.Get("tiny-sd-turbo")));
        var options = new ImageGenerationOptions
        {
            Count = 2,
            ImageSize = new Size(64, 48),
            AdditionalProperties = new AdditionalPropertiesDictionary { ["seed"] = 42, ["num_inference_steps"] = 2, ["negative_prompt"] = "blurry" },
        };

        var response = await generator.GenerateAsync(new ImageGenerationRequest("a lighthouse at dusk"), options);

        Assert.Equal(2, response.Contents.Count);
        var seeds = new List<string>();
        foreach (var content in response.Contents)
        {
            var data = Assert.IsType<DataContent>(content);
            Assert.Equal("image/png", data.MediaType);
            using var image = Image.Load<Rgb24>(data.Data.Span);
            Assert.Equal((64, 48), (image.Width, image.Height));
            var text = image.Metadata.GetPngMetadata().TextData.ToDictionary(t => t.Keyword, t => t.Value, StringComparer.Ordinal);
            Assert.Equal("a lighthouse at dusk", text["prompt"]);
            Assert.Equal("2", text["num_inference_steps"]);
            Assert.Equal("blurry", text["negative_prompt"]);
            seeds.Add(text["seed"]);
        }

        Assert.Equal(["42", "43"], seeds);
        Assert.IsType<GenerationResult>(response.RawRepresentation);
    }

    [Fact]
    public async Task Image_k_of_a_batch_is_the_image_its_own_seed_makes_alone()
    {
        var generator = new FewStepImageGenerator(_fixture.Get("tiny-sd-turbo"));
        ImageGenerationOptions Options(int count, object seed) => new()
        {
            Count = count,
            ImageSize = new Size(64, 64),
            AdditionalProperties = new AdditionalPropertiesDictionary { ["seed"] = seed },
        };

        var batch = await generator.GenerateAsync(new ImageGenerationRequest("x"), Options(2, 7));
        var alone = await generator.GenerateAsync(new ImageGenerationRequest("x"), Options(1, JsonSerializer.SerializeToElement(8)));

        Assert.Equal(Pixels(alone.Contents[0]), Pixels(batch.Contents[1]));
        Assert.NotEqual(Pixels(batch.Contents[0]), Pixels(batch.Contents[1]));
    }

    [Fact]
    public async Task Cancellation_is_honoured()
    {
        var generator = new FewStepImageGenerator(_fixture.Get("tiny-sd-turbo"));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(new ImageGenerationRequest("x"), null, cts.Token));
    }

    [Theory]
    [InlineData("count")]
    [InlineData("size")]
    [InlineData("model")]
    [InlineData("media")]
    [InlineData("seed")]
    [InlineData("prompt")]
    public async Task What_fewstep_cannot_honour_is_an_error_naming_the_option(string bad)
    {
        var generator = new FewStepImageGenerator(_fixture.Get("tiny-sd-turbo"));
        var options = new ImageGenerationOptions { ImageSize = new Size(64, 64) };
        var prompt = "x";
        var expected = bad;
        switch (bad)
        {
            case "count": options.Count = 0; expected = "Count"; break;
            case "size": options.ImageSize = new Size(60, 64); expected = "width"; break;
            case "model": options.ModelId = "sdxl-turbo"; expected = "ModelId"; break;
            case "media": options.MediaType = "image/jpeg"; expected = "MediaType"; break;
            case "seed": options.AdditionalProperties = new() { ["seed"] = "soon" }; break;
            case "prompt": prompt = " "; break;
        }

        var error = await Assert.ThrowsAsync<DiffusionException>(() => generator.GenerateAsync(new ImageGenerationRequest(prompt), options));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_editing_and_hosted_results_are_not_supported()
    {
        var generator = new FewStepImageGenerator(_fixture.Get("tiny-sd-turbo"));

        await Assert.ThrowsAsync<NotSupportedException>(() => generator.GenerateAsync(
            new ImageGenerationRequest("x", [new DataContent(new byte[] { 1 }, "image/png")])));
        await Assert.ThrowsAsync<NotSupportedException>(() => generator.GenerateAsync(
            new ImageGenerationRequest("x"), new ImageGenerationOptions { ResponseFormat = ImageGenerationResponseFormat.Uri }));
    }

    [Fact]
    public void Metadata_and_the_pipeline_are_services_of_the_generator()
    {
        var pipeline = _fixture.Get("tiny-sd-turbo");
        var generator = Abstraction(new FewStepImageGenerator(pipeline));

        var metadata = generator.GetService<ImageGeneratorMetadata>();

        Assert.Equal(("FewStep", "tiny-sd-turbo"), (metadata!.ProviderName, metadata.DefaultModelId));
        Assert.Same(pipeline, generator.GetService<ITextToImagePipeline>());
        Assert.Same(generator, generator.GetService<FewStepImageGenerator>());
        Assert.Null(generator.GetService<string>());
    }

    [Fact]
    public async Task A_generator_over_a_folder_owns_its_pipeline()
    {
        var generator = new FewStepImageGenerator(Path.Combine(ConformancePaths.Models, "tiny-lcm"));
        var pipeline = generator.GetService<ITextToImagePipeline>()!;
        var response = await generator.GenerateAsync(new ImageGenerationRequest("x"), new ImageGenerationOptions { ImageSize = new Size(64, 64) });
        Assert.Single(response.Contents);

        generator.Dispose();

        Assert.Throws<ObjectDisposedException>(() => pipeline.Generate(new GenerationRequest { Prompts = ["x"] }, new FewStep.Diffusion.Noise.TorchNoiseSource([1])));
    }

    // As code written against the abstraction holds it (the point of the test, not a performance slip).
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1859", Justification = "The abstraction is what is tested.")]
    private static IImageGenerator Abstraction(FewStepImageGenerator generator) => generator;

    private static byte[] Pixels(AIContent content)
    {
        using var image = Image.Load<Rgb24>(((DataContent)content).Data.Span);
        var pixels = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }
}
