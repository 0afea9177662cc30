using System.Net;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Tests.Support;
using Microsoft.DurableTask;

namespace FewStep.Functions.Tests.Http;

/// <summary><c>POST /api/generations</c> with valid requests: what is answered and what is scheduled.</summary>
public sealed class StartGenerationTests : IDisposable
{
    private readonly ApiHarness _api = ApiHarness.Create();

    public void Dispose() => _api.Dispose();

    [Fact]
    public async Task Accepted_generation_answers_202_with_its_urls_and_schedules_GenerateImages()
    {
        var response = await _api.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a red fox","seed":42}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.StartsWith("application/json", response.Header("Content-Type"), StringComparison.Ordinal);
        var body = response.ReadJson();
        var id = body.GetProperty("id").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(id));
        var statusUrl = $"https://fewstep.example/api/generations/{id}";
        Assert.Equal(statusUrl, response.Header("Location"));
        Assert.Equal(statusUrl, body.GetProperty("status_url").GetString());
        Assert.False(string.IsNullOrEmpty(response.Header("Retry-After")));
        foreach (var name in new[] { "statusQueryGetUri", "terminatePostUri", "purgeHistoryDeleteUri" })
        {
            var url = body.GetProperty(name).GetString();
            Assert.False(string.IsNullOrEmpty(url), $"{name} is empty");
            Assert.Contains(id, url, StringComparison.Ordinal);
            Assert.StartsWith(ApiHarness.BaseUrl + "/", url, StringComparison.Ordinal);
        }

        Assert.Equal(42, body.GetProperty("seed").GetInt64());

        var start = Assert.Single(_api.Scheduled);
        Assert.Equal(GenerateImagesOrchestrator.Name, start.Name.Name);
        Assert.Equal("GenerateImages", start.Name.Name);
        Assert.Equal(id, start.Options?.InstanceId);
        var input = start.GenerationInput;
        Assert.Equal(id, input.Id);
        Assert.Equal($"generations/{id}", input.BlobPrefix);
        Assert.Equal(3, input.BatchSize);
        Assert.Equal(_api.Options.SubOrchestrationThreshold, input.SubOrchestrationThreshold);
        Assert.Equal(_api.Options.BatchesPerSubOrchestration, input.BatchesPerSubOrchestration);
        Assert.Equal(_api.Options.RenderMaxAttempts, input.RenderRetry.MaxAttempts);
        Assert.Equal(_api.Options.WebhookMaxAttempts, input.WebhookRetry.MaxAttempts);
        Assert.InRange(input.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));

        var spec = input.Spec;
        Assert.Equal("tiny-sd-turbo", spec.Model);
        Assert.Equal(["a red fox"], spec.Prompts);
        Assert.Null(spec.Prompts2);
        Assert.Null(spec.NegativePrompts);
        Assert.Null(spec.NegativePrompts2);
        Assert.Equal(42, spec.Seed);
        Assert.True(spec.SeedWasGiven);
        Assert.Equal(1, spec.NumImagesPerPrompt);
        Assert.Null(spec.WebhookUrl);

        // Defaults from the catalog entry (steps, guidance) and the model folder (64 = UNet sample_size 8 × VAE factor 8).
        Assert.Equal((1, 0f, 64, 64), (spec.NumInferenceSteps, spec.GuidanceScale, spec.Width, spec.Height));
    }

    [Fact]
    public async Task Dedupe_statuses_make_an_id_never_start_twice()
    {
        await _api.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""");

        var start = Assert.Single(_api.Scheduled);
        Assert.NotNull(start.Options);
        var dedupe = start.Options!.DedupeStatuses;
        Assert.NotNull(dedupe);
        foreach (var status in new[] { "Pending", "Running", "Completed", "Failed", "Terminated" })
        {
            Assert.Contains(status, dedupe!, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Catalog_defaults_of_each_model_fill_in_omitted_settings()
    {
        await _api.PostAsync("""{"model":"tiny-lcm","prompt":"a fox"}""");
        await _api.PostAsync("""{"model":"TINY-SDXL-TURBO","prompt":"a fox"}""");

        var lcm = _api.Scheduled[0].GenerationInput.Spec;
        Assert.Equal(("tiny-lcm", 4, 8f, 64, 64), (lcm.Model, lcm.NumInferenceSteps, lcm.GuidanceScale, lcm.Width, lcm.Height));
        var sdxl = _api.Scheduled[1].GenerationInput.Spec;
        Assert.Equal(("tiny-sdxl-turbo", 2, 0f, 64, 64), (sdxl.Model, sdxl.NumInferenceSteps, sdxl.GuidanceScale, sdxl.Width, sdxl.Height));
    }

    [Fact]
    public async Task Given_settings_override_the_defaults()
    {
        var response = await _api.PostAsync("""
            {"model":"tiny-lcm","prompt":"a fox","num_inference_steps":6,"guidance_scale":1.5,"width":128,"height":96,
             "num_images_per_prompt":3,"webhook_url":"https://hooks.example/done?x=1"}
            """);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var spec = Assert.Single(_api.Scheduled).GenerationInput.Spec;
        Assert.Equal((6, 1.5f, 128, 96, 3), (spec.NumInferenceSteps, spec.GuidanceScale, spec.Width, spec.Height, spec.NumImagesPerPrompt));
        Assert.Equal("https://hooks.example/done?x=1", spec.WebhookUrl);
        Assert.Equal(3, spec.ImageCount);
    }

    [Fact]
    public async Task Absent_seed_is_chosen_at_random_and_reported_in_the_body_and_the_input()
    {
        var first = await _api.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""");
        var second = await _api.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","seed":null}""");

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var seeds = new[] { first, second }.Select(r => r.ReadJson().GetProperty("seed").GetInt64()).ToArray();
        Assert.All(seeds, s => Assert.True(s >= 0));
        Assert.Equal(seeds, _api.Scheduled.Select(s => s.GenerationInput.Spec.Seed));
        Assert.All(_api.Scheduled, s => Assert.False(s.GenerationInput.Spec.SeedWasGiven));
        Assert.NotEqual(first.ReadJson().GetProperty("id").GetString(), second.ReadJson().GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public async Task Seed_accepts_the_whole_non_negative_long_range(string json, long expected)
    {
        var response = await _api.PostAsync($$"""{"model":"tiny-sd-turbo","prompt":"a fox","seed":{{json}}}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(expected, response.ReadJson().GetProperty("seed").GetInt64());
        Assert.Equal(expected, Assert.Single(_api.Scheduled).GenerationInput.Spec.Seed);
    }

    [Fact]
    public async Task Prompts_list_and_a_negative_prompt_broadcast_to_every_prompt()
    {
        var response = await _api.PostAsync("""
            {"model":"tiny-sd-turbo","prompts":["a fox","a cat","a owl"],"negative_prompt":"blurry","num_images_per_prompt":2}
            """);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var spec = Assert.Single(_api.Scheduled).GenerationInput.Spec;
        Assert.Equal(["a fox", "a cat", "a owl"], spec.Prompts);
        Assert.Equal(["blurry", "blurry", "blurry"], spec.NegativePrompts);
        Assert.Equal(6, spec.ImageCount);
    }

    [Fact]
    public async Task Prompt_as_a_single_string_is_one_prompt()
    {
        await _api.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","negative_prompt":["ugly"]}""");

        var spec = Assert.Single(_api.Scheduled).GenerationInput.Spec;
        Assert.Equal(["a fox"], spec.Prompts);
        Assert.Equal(["ugly"], spec.NegativePrompts);
    }

    [Fact]
    public async Task Sdxl_takes_second_prompts_per_prompt()
    {
        var response = await _api.PostAsync("""
            {"model":"tiny-sdxl-turbo","prompts":["a fox","a cat"],"prompt_2":["oil painting","watercolor"],"negative_prompt_2":""}
            """);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var spec = Assert.Single(_api.Scheduled).GenerationInput.Spec;
        Assert.Equal(["oil painting", "watercolor"], spec.Prompts2);
        Assert.Equal(["", ""], spec.NegativePrompts2);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/hook")]
    [InlineData("http://localhost:7071/hook")]
    [InlineData("https://hooks.example/fewstep")]
    public async Task Webhook_accepts_https_and_loopback_http(string url)
    {
        var response = await _api.PostAsync($$"""{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"{{url}}"}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(new Uri(url).AbsoluteUri, Assert.Single(_api.Scheduled).GenerationInput.Spec.WebhookUrl);
    }

    [Fact]
    public async Task A_body_exactly_at_the_limit_is_accepted()
    {
        using var api = ApiHarness.Create(o => o.MaxRequestBytes = 2048);
        var json = """{"model":"tiny-sd-turbo","prompt":"a fox"}""";
        json = json.Insert(json.Length - 1, new string(' ', 2048 - json.Length));

        var response = await api.PostAsync(json);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }
}
