using FewStep.Diffusion;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Pipelines;

namespace FewStep.Onnx.Tests.Pipelines;

/// <summary>Every user mistake is a <see cref="DiffusionException"/> naming the field, before any model runs.</summary>
public sealed class RequestValidationTests : IClassFixture<PipelinesFixture>
{
    private readonly PipelinesFixture _fixture;

    public RequestValidationTests(PipelinesFixture fixture) => _fixture = fixture;

    public static TheoryData<string, string, string> BadRequests() => new()
    {
        { "tiny-sd-turbo", "empty prompt list", "prompt" },
        { "tiny-sd-turbo", "blank prompt", "prompt[1]" },
        { "tiny-sd-turbo", "zero steps", "num_inference_steps" },
        { "tiny-sd-turbo", "negative guidance", "guidance_scale" },
        { "tiny-sd-turbo", "NaN guidance", "guidance_scale" },
        { "tiny-sd-turbo", "width not a multiple", "width" },
        { "tiny-sd-turbo", "zero height", "height" },
        { "tiny-sd-turbo", "zero images per prompt", "num_images_per_prompt" },
        { "tiny-sd-turbo", "prompt_2 on SD", "prompt_2" },
        { "tiny-sdxl-turbo", "prompt_2 count", "prompt_2" },
        { "tiny-sdxl-turbo", "negative count", "negative_prompt" },
        { "tiny-lcm", "negative on LCM", "negative_prompt" },
        { "tiny-sd-turbo", "unknown scheduler override", "no_such_field" },
        { "tiny-sdxl-turbo", "ancestral sample prediction", "sample" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void Bad_request_names_the_field(string model, string kind, string field)
    {
        var pipeline = _fixture.Get(model);
        var request = Make(kind);

        var error = Assert.Throws<DiffusionException>(() => pipeline.Generate(request, new TorchNoiseSource([1])));

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_size_comes_from_the_unet_and_vae_configs()
    {
        var pipeline = _fixture.Get("tiny-sd-turbo");

        var image = pipeline.Generate(new GenerationRequest { Prompts = ["x"] }, new TorchNoiseSource([1])).Images.Single();

        // tiny UNet sample_size 8 × VAE scale factor 8 (four VAE blocks).
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.Equal(16, pipeline.SizeMultiple);
    }

    private static GenerationRequest Make(string kind)
    {
        var ok = new GenerationRequest { Prompts = ["a fox"], Width = 64, Height = 64 };
        return kind switch
        {
            "empty prompt list" => ok with { Prompts = [] },
            "blank prompt" => ok with { Prompts = ["a fox", "  "] },
            "zero steps" => ok with { NumInferenceSteps = 0 },
            "negative guidance" => ok with { GuidanceScale = -1f },
            "NaN guidance" => ok with { GuidanceScale = float.NaN },
            "width not a multiple" => ok with { Width = 72 },
            "zero height" => ok with { Height = 0 },
            "zero images per prompt" => ok with { NumImagesPerPrompt = 0 },
            "prompt_2 on SD" => ok with { Prompts2 = ["b"] },
            "prompt_2 count" => ok with { Prompts2 = ["b", "c"] },
            "negative count" => ok with { Prompts = ["a", "b", "c"], NegativePrompts = ["n1", "n2"] },
            "negative on LCM" => ok with { NegativePrompts = ["n"] },
            "unknown scheduler override" => ok with { SchedulerOverrides = new Dictionary<string, System.Text.Json.JsonElement> { ["no_such_field"] = default } },
            "ancestral sample prediction" => ok with
            {
                SchedulerOverrides = new Dictionary<string, System.Text.Json.JsonElement>
                {
                    ["prediction_type"] = System.Text.Json.JsonDocument.Parse("\"sample\"").RootElement.Clone(),
                },
            },
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }
}
