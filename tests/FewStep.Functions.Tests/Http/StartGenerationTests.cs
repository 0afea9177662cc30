using System.Net;
using System.Text.Json;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Plans;
using FewStep.Functions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FewStep.Functions.Tests.Http;

/// <summary>Accepted requests: what the run is started with (its stored request and orchestration input) and the defaults filled in.</summary>
public sealed class StartGenerationTests : IAsyncLifetime
{
    private TestApp _app = null!;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Settings["FewStep:AllowLoopbackWebhooks"] = "true";
        o.Resolver = new MapResolver().Map("hooks.example", "93.184.216.34");
    });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task An_accepted_generation_is_recorded_and_started_as_a_small_run_input()
    {
        var accepted = await _app.StartAsync("""{"model":"tiny-sd-turbo","prompts":["a fox","a cat"],"num_images_per_prompt":3,"seed":5}""");
        var id = accepted.GetProperty("id").GetString()!;

        Assert.Matches("^[0-9a-f]{32}$", id);
        var instance = await _app.Client.GetInstanceAsync(id, getInputsAndOutputs: true);
        Assert.NotNull(instance);
        Assert.Equal(RunOrchestrator.Name, instance.Name);
        var input = instance.ReadInputAs<RunInput>()!;
        Assert.Equal((RunKind.Generation, $"generations/{id}", "tiny-sd-turbo", 5L, 6), (input.Kind, input.Prefix, input.Model, input.Seed, input.ImageCount));
        Assert.DoesNotContain("a fox", instance.SerializedInput, StringComparison.Ordinal);
        var request = await _app.Services.GetRequiredService<RunPlanStore>().ReadRequestAsync(id, CancellationToken.None);
        Assert.Equal(["a fox", "a cat"], request!.Spec.Prompts);
        Assert.Null(request.Fingerprint);
    }

    [Fact]
    public async Task The_noise_kernel_setting_is_recorded_with_the_request_and_reaches_the_renderer()
    {
        await using var app = await TestApp.StartAsync(o => o.Settings["FewStep:NoiseKernel"] = "default");

        var id = (await app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","seed":1}""")).GetProperty("id").GetString()!;
        await app.WaitForEndAsync(id);

        var request = await app.Services.GetRequiredService<RunPlanStore>().ReadRequestAsync(id, CancellationToken.None);
        Assert.Equal(FewStep.Diffusion.Noise.TorchNormalKernel.Default, request!.Spec.NoiseKernel);
        Assert.Equal(FewStep.Diffusion.Noise.TorchNormalKernel.Default, Assert.Single(app.Fake!.Jobs.Snapshot()).NoiseKernel);
        var manifest = JsonDocument.Parse((await app.Images.ReadAsync($"generations/{id}/manifest.json", CancellationToken.None))!.ToMemory()).RootElement;
        Assert.Equal("default", manifest.GetProperty("requests")[0].GetProperty("request").GetProperty("noise_kernel").GetString());
    }

    [Fact]
    public async Task Catalog_defaults_of_each_model_fill_in_omitted_settings()
    {
        var spec = await SpecOfAsync("""{"model":"tiny-lcm","prompt":"a fox"}""");

        Assert.Equal((4, 8f, 64, 64, 1), (spec.NumInferenceSteps, spec.GuidanceScale, spec.Width, spec.Height, spec.NumImagesPerPrompt));
    }

    [Fact]
    public async Task Given_settings_override_the_defaults()
    {
        var spec = await SpecOfAsync("""{"model":"tiny-lcm","prompt":"a fox","num_inference_steps":2,"guidance_scale":1.5,"width":128,"height":96}""");

        Assert.Equal((2, 1.5f, 128, 96), (spec.NumInferenceSteps, spec.GuidanceScale, spec.Width, spec.Height));
    }

    [Fact]
    public async Task An_absent_seed_is_chosen_at_random_and_reported()
    {
        var first = await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""");
        var second = await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""");

        var seeds = new[] { first, second }.Select(b => b.GetProperty("seed").GetInt64()).ToList();
        Assert.All(seeds, s => Assert.InRange(s, 0, int.MaxValue));
        Assert.NotEqual(seeds[0], seeds[1]);
        Assert.Equal(seeds[0], (await SpecOfIdAsync(first.GetProperty("id").GetString()!)).Seed);
    }

    [Theory]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","seed":0}""", 0L)]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","seed":9223372036854775807}""", long.MaxValue)]
    public async Task Seed_accepts_the_whole_non_negative_long_range(string json, long expected)
    {
        var accepted = await _app.StartAsync(json);

        Assert.Equal(expected, accepted.GetProperty("seed").GetInt64());
    }

    [Fact]
    public async Task A_string_negative_prompt_applies_to_every_prompt()
    {
        var spec = await SpecOfAsync("""{"model":"tiny-sd-turbo","prompts":["a fox","a cat"],"negative_prompt":"blurry"}""");

        Assert.Equal(["blurry", "blurry"], spec.NegativePrompts);
    }

    [Fact]
    public async Task Sdxl_takes_second_prompts_one_per_prompt()
    {
        var spec = await SpecOfAsync("""{"model":"tiny-sdxl-turbo","prompts":["a fox","a cat"],"prompt_2":["oil","ink"],"negative_prompt_2":"blurry"}""");

        Assert.Equal(["oil", "ink"], spec.Prompts2);
        Assert.Equal(["blurry", "blurry"], spec.NegativePrompts2);
    }

    [Theory]
    [InlineData("https://hooks.example/done")]
    [InlineData("http://127.0.0.1:9/hook")]
    [InlineData("http://localhost:7071/hook")]
    [InlineData("http://[::1]:8080/hook")]
    public async Task Webhooks_to_public_https_and_with_the_local_setting_to_loopback_http_are_accepted(string url)
    {
        var spec = await SpecOfAsync($$"""{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"{{url}}"}""");

        Assert.Equal(new Uri(url).AbsoluteUri, spec.WebhookUrl);
    }

    [Fact]
    public async Task A_body_exactly_at_the_limit_is_accepted()
    {
        var json = """{"model":"tiny-sd-turbo","prompt":"a fox"}""";
        json = json.Insert(json.Length - 1, new string(' ', _app.Options.MaxRequestBytes - json.Length));

        using var response = await _app.PostAsync(json);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private async Task<FewStep.Functions.Contracts.GenerationSpec> SpecOfAsync(string json) =>
        await SpecOfIdAsync((await _app.StartAsync(json)).GetProperty("id").GetString()!);

    private async Task<FewStep.Functions.Contracts.GenerationSpec> SpecOfIdAsync(string id) =>
        (await _app.Services.GetRequiredService<RunPlanStore>().ReadRequestAsync(id, CancellationToken.None))!.Spec;
}
