using System.Net;
using System.Text.Json;
using FewStep.Diffusion.Noise;
using FewStep.Functions.Tests.Http;
using FewStep.Functions.Tests.Support;
using FewStep.Onnx.Imaging;
using FewStep.Onnx.Lora;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Functions.Tests.Lora;

/// <summary>
/// LoRAs through the service: named in a request or bundled by a catalog model, merged into the model the render
/// worker loads (one pipeline per LoRA set), recorded in the PNG and the manifest, and the image the library gives
/// with the same LoRA, scheduler and seed. The real renderer on the tiny model, the real HTTP pipeline.
/// </summary>
public sealed class LoraGenerationTests : IAsyncLifetime
{
    private TestApp _app = null!;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o => o.RealRenderer = true);

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task A_lora_changes_the_image_and_the_png_and_manifest_say_which_lora_at_which_scale()
    {
        var plain = await RenderAsync("""{"model":"tiny-sd-turbo","prompt":"a red fox","seed":5}""");
        var (status, png) = await RenderWithStatusAsync("""{"model":"tiny-sd-turbo","prompt":"a red fox","seed":5,"loras":[{"name":"sd_kohya_unet_locon","scale":0.75}]}""");

        Assert.NotEqual(Pixels(plain), Pixels(png));
        var sha = LoraFileHashes.Of(ConformancePaths.Lora("sd_kohya_unet_locon"));
        Assert.Equal($"sd_kohya_unet_locon:0.75@{sha[..12]}", Text(png)["loras"]);
        Assert.False(Text(plain).ContainsKey("loras"));

        var manifest = await ManifestAsync(status);
        var loras = manifest.GetProperty("requests")[0].GetProperty("request").GetProperty("loras");
        Assert.Equal(("sd_kohya_unet_locon", 0.75f), (loras[0].GetProperty("name").GetString(), loras[0].GetProperty("scale").GetSingle()));
    }

    [Fact]
    public async Task The_service_image_is_the_librarys_with_the_same_loras_and_seed()
    {
        var png = await RenderAsync("""
            {"model":"tiny-sd-turbo","prompt":"a lighthouse","seed":9,"guidance_scale":3,"negative_prompt":"blurry",
             "loras":[{"name":"sd_kohya_unet_te","scale":0.7},{"name":"sd_kohya_unet_locon","scale":-0.5}]}
            """);

        var expected = Library(
            [new LoraSpec(ConformancePaths.Lora("sd_kohya_unet_te"), 0.7f), new LoraSpec(ConformancePaths.Lora("sd_kohya_unet_locon"), -0.5f)],
            new GenerationRequest { Prompts = ["a lighthouse"], NegativePrompts = ["blurry"], NumInferenceSteps = 1, GuidanceScale = 3, Width = 64, Height = 64 },
            9);
        Assert.Equal(expected, Pixels(png));
    }

    [Fact]
    public async Task A_catalog_model_bundling_lcm_lora_runs_it_with_lcm_scheduler()
    {
        var png = await RenderAsync($$"""{"model":"{{TestApp.LcmLoraModel}}","prompt":"a portrait of an old sailor","seed":3}""");

        var text = Text(png);
        Assert.Equal(("LCMScheduler", "4"), (text["scheduler"], text["num_inference_steps"]));
        Assert.StartsWith($"{TestApp.LcmLora}:1@", text["loras"], StringComparison.Ordinal);
        var expected = Library(
            [new LoraSpec(ConformancePaths.Lora(TestApp.LcmLora))],
            new GenerationRequest
            {
                Prompts = ["a portrait of an old sailor"], NumInferenceSteps = 4, GuidanceScale = 1, Width = 64, Height = 64,
                Scheduler = new Dictionary<string, JsonElement> { ["_class_name"] = JsonSerializer.SerializeToElement("LCMScheduler") },
            },
            3);
        Assert.Equal(expected, Pixels(png));
    }

    [Fact]
    public async Task A_request_can_replace_the_scheduler()
    {
        var euler = await RenderAsync("""{"model":"tiny-sd-turbo","prompt":"a red fox","seed":5,"num_inference_steps":4}""");
        var lcm = await RenderAsync("""{"model":"tiny-sd-turbo","prompt":"a red fox","seed":5,"num_inference_steps":4,"scheduler":{"_class_name":"LCMScheduler"}}""");

        Assert.NotEqual(Pixels(euler), Pixels(lcm));
        Assert.Equal("LCMScheduler", Text(lcm)["scheduler"]);
        Assert.False(Text(euler).ContainsKey("scheduler"));
    }

    [Fact]
    public async Task An_sdxl_lora_on_an_sd_model_is_a_400_that_says_so_and_names_the_key()
    {
        using var response = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"sdxl_peft_unet_r8"}]}""");

        var message = Assert.Single((await ValidationTests.AssertProblemAsync(response, HttpStatusCode.BadRequest))["loras[0].name"]);
        Assert.Contains("does not fit model 'tiny-sd-turbo'", message, StringComparison.Ordinal);
        Assert.Contains("sdxl_peft_unet_r8.safetensors", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_path_is_never_taken_for_a_lora_name()
    {
        using var response = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"../loras/sd_kohya_unet_locon"}]}""");

        var message = Assert.Single((await ValidationTests.AssertProblemAsync(response, HttpStatusCode.BadRequest))["loras[0].name"]);
        Assert.Contains("paths are not accepted", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_lora_lists_the_installed_ones()
    {
        using var response = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"no-such-lora"}]}""");

        var message = Assert.Single((await ValidationTests.AssertProblemAsync(response, HttpStatusCode.BadRequest))["loras[0].name"]);
        Assert.Contains("sd_kohya_unet_locon", message, StringComparison.Ordinal);
    }

    private static byte[] Library(IReadOnlyList<LoraSpec> loras, GenerationRequest request, long seed)
    {
        using var pipeline = TextToImagePipeline.Load(ConformancePaths.Model(TestApp.Model), new OnnxSessionFactory(new OnnxExecutionOptions()), new PipelineLoadOptions { Loras = loras });
        var image = pipeline.Generate(request, TorchNoiseSource.ForSeeds([seed])).Images[0];
        return Pixels(PngImageEncoder.Encode(image, new ImageParameters("x", null, seed, 1, 0, image.Width, image.Height, "x")));
    }

    private async Task<byte[]> RenderAsync(string json) => (await RenderWithStatusAsync(json)).Png;

    private async Task<(JsonElement Status, byte[] Png)> RenderWithStatusAsync(string json)
    {
        var accepted = await _app.StartAsync(json);
        var status = await _app.WaitForEndAsync(accepted.GetProperty("id").GetString()!);
        Assert.True(status.GetProperty("status").GetString() == "succeeded", status.ToString());
        var blob = status.GetProperty("images")[0].GetProperty("blob").GetString()!;
        var png = await _app.Images.ReadAsync(blob, CancellationToken.None);
        return (status, png!.ToArray());
    }

    private async Task<JsonElement> ManifestAsync(JsonElement status)
    {
        var json = await _app.Images.ReadAsync($"generations/{status.GetProperty("id").GetString()}/manifest.json", CancellationToken.None);
        return JsonDocument.Parse(json!.ToMemory()).RootElement.Clone();
    }

    private static byte[] Pixels(byte[] png)
    {
        using var image = Image.Load<Rgb24>(png);
        var pixels = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    private static Dictionary<string, string> Text(byte[] png)
    {
        using var image = Image.Load<Rgb24>(png);
        return image.Metadata.GetPngMetadata().TextData.ToDictionary(t => t.Keyword, t => t.Value, StringComparer.Ordinal);
    }
}
