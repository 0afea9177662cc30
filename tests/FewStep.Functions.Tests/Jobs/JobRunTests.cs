using System.Net;
using FewStep.Functions.Jobs;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Tests.Support;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Functions.Tests.Jobs;

/// <summary>Good job files end to end: Azurite, the real pipeline on the tiny model, the run orchestration (the same one generations use).</summary>
[Collection(AzuriteDefinition.Name)]
public sealed class JobRunTests : IAsyncLifetime
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(20) };
    private readonly AzuriteFixture _azurite;
    private TestApp _app = null!;

    public JobRunTests(AzuriteFixture azurite) => _azurite = azurite;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Azurite = _azurite;
        o.RealRenderer = true;
        o.WithBrokenModel = true;
    });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task A_jsonl_job_renders_every_request_into_its_results_folder()
    {
        var name = TestApp.UniqueName(".jsonl");
        var blob = await _app.UploadJobAsync(name, """
            {"model": "tiny-sd-turbo", "prompt": "a red fox", "seed": 7}

            {"model": "tiny-sd-turbo", "prompts": ["a blue bird", "a green frog"], "num_images_per_prompt": 2, "seed": 100}
            """);
        var prefix = name[..^".jsonl".Length];

        var instance = await _app.RunJobAsync(blob);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        var output = instance.ReadOutputAs<RunOutput>()!;
        Assert.Equal(("succeeded", 2, 0, 5), (output.Status, output.Requests, output.FailedRequests, output.Images));
        var manifest = await _app.ReadResultJsonAsync($"{prefix}/manifest.json");
        Assert.Equal("succeeded", manifest.GetProperty("status").GetString());
        var requests = manifest.GetProperty("requests").EnumerateArray().ToList();
        Assert.Equal([1, 3], requests.Select(r => r.GetProperty("line").GetInt32()));
        Assert.All(requests, r => Assert.Equal("succeeded", r.GetProperty("status").GetString()));
        var images = requests[1].GetProperty("images").EnumerateArray().ToList();
        Assert.Equal([100L, 101, 102, 103], images.Select(i => i.GetProperty("seed").GetInt64()));
        Assert.Equal($"{prefix}/3-1-0.png", images[2].GetProperty("blob").GetString());

        var png = await s_http.GetByteArrayAsync(new Uri(images[3].GetProperty("url").GetString()!));
        using var image = Image.Load<Rgb24>(png);
        Assert.Equal((64, 64), (image.Width, image.Height));
        var text = image.Metadata.GetPngMetadata().TextData.ToDictionary(t => t.Keyword, t => t.Value, StringComparer.Ordinal);
        Assert.Equal(("a green frog", "103"), (text["prompt"], text["seed"]));
        var marker = await _app.ReadResultJsonAsync($"{prefix}/job.json");
        Assert.Equal((instance.InstanceId, "succeeded"), (marker.GetProperty("id").GetString(), marker.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_json_job_with_a_byte_order_mark_and_crlf_line_ends_works_and_get_jobs_finds_it()
    {
        var name = $"team-a/{TestApp.UniqueName(".json")}";
        var blob = await _app.UploadJobAsync(name,
            "{\r\n  \"requests\": [\r\n    {\"model\": \"tiny-sd-turbo\", \"prompt\": \"a red fox\"},\r\n    {\"model\": \"tiny-sd-turbo\", \"prompt\": \"a cat\", \"num_inference_steps\": 2}\r\n  ]\r\n}\r\n",
            bom: true);

        var instance = await _app.RunJobAsync(blob);

        Assert.Equal("succeeded", instance.ReadOutputAs<RunOutput>()!.Status);
        var manifest = await _app.ReadResultJsonAsync($"{name[..^5]}/manifest.json");
        Assert.Equal([3, 4], manifest.GetProperty("requests").EnumerateArray().Select(r => r.GetProperty("line").GetInt32()));
        var seed = manifest.GetProperty("requests")[0].GetProperty("request").GetProperty("seed").GetInt64();
        Assert.Equal(JobIds.SeedFor(instance.InstanceId, 3), seed);

        using var response = await _app.Http.GetAsync($"api/jobs/{name}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Uri(_app.Http.BaseAddress!, $"api/generations/{instance.InstanceId}"), response.Content.Headers.ContentLocation);
        var status = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((instance.InstanceId, "succeeded"), (status.GetProperty("id").GetString(), status.GetProperty("status").GetString()));
        Assert.Equal(2, status.GetProperty("images").GetArrayLength());
        Assert.Equal(status.GetProperty("id").GetString(), (await _app.GetStatusAsync(instance.InstanceId)).GetProperty("id").GetString());
        using var unknown = await _app.Http.GetAsync("api/jobs/nope.json");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task A_repeated_trigger_for_the_same_upload_starts_nothing_new_and_a_re_upload_starts_a_new_run()
    {
        var name = TestApp.UniqueName(".jsonl");
        var blob = await _app.UploadJobAsync(name, """{"model": "tiny-sd-turbo", "prompt": "a red fox", "num_images_per_prompt": 2}""");
        var first = await _app.RunJobAsync(blob);

        var again = await _app.Services.GetRequiredService<JobStarter>().StartAsync(blob, _app.Client, CancellationToken.None);
        var rerun = await _app.Client.GetInstanceAsync(again!, getInputsAndOutputs: false);

        Assert.Equal(first.InstanceId, again);
        Assert.Equal(first.LastUpdatedAt, rerun!.LastUpdatedAt);

        await _app.UploadJobAsync(name, """{"model": "tiny-sd-turbo", "prompt": "a lighthouse"}""");
        var second = await _app.RunJobAsync(blob);

        Assert.NotEqual(first.InstanceId, second.InstanceId);
        Assert.Equal("succeeded", second.ReadOutputAs<RunOutput>()!.Status);
        var manifest = await _app.ReadResultJsonAsync($"{name[..^6]}/manifest.json");
        Assert.Equal(second.InstanceId, manifest.GetProperty("id").GetString());
        Assert.Equal(1, manifest.GetProperty("images_total").GetInt32());
        var left = new List<string>();
        await foreach (var item in _app.JobStorage.Results.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, name[..^6] + "/", CancellationToken.None))
        {
            left.Add(item.Name);
        }

        Assert.Single(left, n => n.EndsWith(".png", StringComparison.Ordinal));
    }

    [Fact]
    public async Task One_failing_request_does_not_fail_the_others()
    {
        var name = TestApp.UniqueName(".jsonl");
        var blob = await _app.UploadJobAsync(name, """
            {"model": "tiny-sd-turbo", "prompt": "a red fox"}
            {"model": "tiny-sd-turbo-broken", "prompt": "a broken fox"}
            {"model": "tiny-sd-turbo", "prompt": "a blue bird"}
            """);

        var instance = await _app.RunJobAsync(blob);

        var output = instance.ReadOutputAs<RunOutput>()!;
        Assert.Equal(("partially_failed", 3, 1, 2), (output.Status, output.Requests, output.FailedRequests, output.Images));
        var manifest = await _app.ReadResultJsonAsync($"{name[..^6]}/manifest.json");
        var requests = manifest.GetProperty("requests").EnumerateArray().ToList();
        Assert.Equal(["succeeded", "failed", "succeeded"], requests.Select(r => r.GetProperty("status").GetString()));
        Assert.Contains("tiny-sd-turbo-broken", requests[1].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(requests[1].GetProperty("images").EnumerateArray());
        Assert.Equal("partially_failed", (await _app.GetStatusAsync(instance.InstanceId)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_job_manifest_spells_every_key_as_the_generation_manifest_does()
    {
        var name = TestApp.UniqueName(".jsonl");
        var blob = await _app.UploadJobAsync(name, """{"model": "tiny-sdxl-turbo", "prompt": "a fox", "prompt_2": "oil"}""");
        var job = await _app.RunJobAsync(blob);
        var generation = (await _app.StartAsync("""{"model": "tiny-sdxl-turbo", "prompt": "a fox", "prompt_2": "oil"}""")).GetProperty("id").GetString()!;
        await _app.WaitForEndAsync(generation, TimeSpan.FromMinutes(2));

        var jobManifest = await _app.ReadResultJsonAsync($"{name[..^6]}/manifest.json");
        var generationManifest = System.Text.Json.JsonDocument.Parse((await _app.Images.ReadAsync($"generations/{generation}/manifest.json", CancellationToken.None))!.ToMemory()).RootElement;

        Assert.Equal("succeeded", job.ReadOutputAs<RunOutput>()!.Status);
        Assert.Equal(["oil"], jobManifest.GetProperty("requests")[0].GetProperty("request").GetProperty("prompts_2").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(["oil"], generationManifest.GetProperty("requests")[0].GetProperty("request").GetProperty("prompts_2").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(Keys(generationManifest).Except(["source", "etag"]), Keys(jobManifest).Except(["source", "etag"]));
        Assert.Equal(Keys(generationManifest.GetProperty("requests")[0]).Except(["line"]), Keys(jobManifest.GetProperty("requests")[0]).Except(["line"]));
        Assert.Equal(Keys(generationManifest.GetProperty("requests")[0].GetProperty("request")), Keys(jobManifest.GetProperty("requests")[0].GetProperty("request")));
    }

    private static IEnumerable<string> Keys(System.Text.Json.JsonElement element) => element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);
}
