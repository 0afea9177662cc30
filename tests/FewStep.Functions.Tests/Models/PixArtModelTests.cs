using System.Text.Json;
using FewStep.Diffusion.Configuration;
using FewStep.Functions.Options;
using FewStep.Functions.Rendering;
using FewStep.Functions.Validation;
using FewStep.Onnx.Sessions;
using Microsoft.Extensions.Logging.Abstractions;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace FewStep.Functions.Tests.Models;

/// <summary>
/// A PixArt-LCM catalog model (the conformance tiny-pixart-lcm) goes through the service like the other families:
/// the parser fills in its settings and checks its sizes and fields, and the renderer runs it.
/// </summary>
public sealed class PixArtModelTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fewstep-pixart-").FullName;
    private readonly ModelRegistry _registry;
    private readonly GenerationRequestParser _parser;
    private readonly Microsoft.Extensions.Options.IOptions<FewStepOptions> _options;

    public PixArtModelTests()
    {
        var catalog = Path.Combine(_root, "catalog.json");
        File.WriteAllText(catalog, JsonSerializer.Serialize(new
        {
            models = new object[]
            {
                new { name = "tiny-pixart-lcm", folder = ConformancePaths.Model("tiny-pixart-lcm"), steps = 4, min_steps = 1, max_steps = 8, guidance_scale = 0f, max_guidance_scale = 10f, width = 64, height = 64, max_width = 256, max_height = 256 },
            },
        }));
        _options = MsOptions.Create(new FewStepOptions { ModelRoot = _root, ModelCatalogFile = catalog });
        _registry = new ModelRegistry(_options, new OnnxSessionFactory(new OnnxExecutionOptions()), NullLogger<ModelRegistry>.Instance);
        _parser = new GenerationRequestParser(_registry, _options);
    }

    public void Dispose()
    {
        _registry.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void The_built_in_catalog_lists_pixart_lcm_with_its_recommended_settings()
    {
        Assert.True(_registry.TryGetEntry("pixart-lcm", out var entry));
        Assert.Equal((4, 0f, 1024, 1024), (entry.Steps, entry.GuidanceScale, entry.Width!.Value, entry.Height!.Value));
    }

    [Fact]
    public void Parser_accepts_a_pixart_model_and_fills_in_its_settings()
    {
        var result = Parse("""{ "model": "tiny-pixart-lcm", "prompt": "a red panda", "negative_prompt": "blurry", "width": 96, "seed": 5 }""");

        Assert.True(result.IsValid, result.Errors.ToString());
        var spec = result.Spec!;
        Assert.Equal(("tiny-pixart-lcm", 4, 0f, 96, 64), (spec.Model, spec.NumInferenceSteps, spec.GuidanceScale, spec.Width, spec.Height));
        Assert.Equal(["blurry"], spec.NegativePrompts!);
        var info = _registry.Describe(_registry.Catalog.Entries.Single(e => e.Name == "tiny-pixart-lcm"));
        Assert.Equal(PipelineFamily.PixArt, info.Family);
        Assert.Equal(16, info.Geometry.SizeMultiple);
    }

    [Theory]
    [InlineData("""{ "model": "tiny-pixart-lcm", "prompt": "x", "prompt_2": "y" }""", "prompt_2")]
    [InlineData("""{ "model": "tiny-pixart-lcm", "prompt": "x", "negative_prompt_2": "y" }""", "negative_prompt_2")]
    [InlineData("""{ "model": "tiny-pixart-lcm", "prompt": "x", "width": 72 }""", "width")]
    [InlineData("""{ "model": "tiny-pixart-lcm", "prompt": "x", "height": 56 }""", "height")]
    [InlineData("""{ "model": "tiny-pixart-lcm", "prompt": "x", "use_resolution_binning": "yes" }""", "use_resolution_binning")]
    public void Parser_refuses_what_pixart_cannot_take(string json, string field)
    {
        var result = Parse(json);

        Assert.False(result.IsValid);
        Assert.True(result.Errors.Has(field), $"expected an error for {field}");
    }

    [Fact]
    public void Resolution_binning_is_a_pixart_request_option()
    {
        var result = Parse("""{ "model": "tiny-pixart-lcm", "prompt": "a red panda", "width": 96, "use_resolution_binning": true }""");

        Assert.True(result.IsValid, result.Errors.ToString());
        Assert.True(result.Spec!.UseResolutionBinning);
        Assert.False(Parse("""{ "model": "tiny-pixart-lcm", "prompt": "a red panda" }""").Spec!.UseResolutionBinning);
    }

    [Fact]
    public async Task Renderer_passes_resolution_binning_and_keeps_the_requested_size()
    {
        var renderer = new PipelineImageRenderer(_registry, NullLogger<PipelineImageRenderer>.Instance);
        var job = new RenderJob("tiny-pixart-lcm", 1, 0f, 96, 64, [new RenderItem(0, 0, 7, "a red panda", null, null, null)], UseResolutionBinning: true);

        var image = Assert.Single(await renderer.RenderAsync(job, CancellationToken.None));

        using var png = SixLabors.ImageSharp.Image.Load(image.Png.ToArray());
        Assert.Equal((96, 64), (png.Width, png.Height));
    }

    [Fact]
    public async Task Renderer_runs_a_pixart_model()
    {
        var renderer = new PipelineImageRenderer(_registry, NullLogger<PipelineImageRenderer>.Instance);
        var job = new RenderJob("tiny-pixart-lcm", 2, 0f, 64, 64, [new RenderItem(0, 0, 7, "a red panda", null, null, null)]);

        var images = await renderer.RenderAsync(job, CancellationToken.None);

        var image = Assert.Single(images);
        Assert.Equal(0x89, image.Png.ToArray()[0]);
    }

    private ParseResult Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return _parser.Parse(document.RootElement.Clone(), () => 1);
    }
}
