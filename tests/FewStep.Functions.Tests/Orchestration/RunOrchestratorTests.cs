using System.Net;
using System.Text.Json;
using FewStep.Diffusion;
using FewStep.Functions.Manifests;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Tests.Support;

namespace FewStep.Functions.Tests.Orchestration;

/// <summary>
/// A generation from POST to manifest on the in-process durable host with the fake renderer: batches, seeds,
/// blob names, retries, failures (in the app's own output, as GET shows them), continue-as-new, webhooks.
/// </summary>
public sealed class RunOrchestratorTests : IAsyncLifetime
{
    private readonly MapResolver _resolver = new MapResolver().Map("hooks.example", "93.184.216.34");
    private TestApp _app = null!;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Settings["FewStep:BatchSize"] = "3";
        o.Settings["FewStep:AllowLoopbackWebhooks"] = "true";
        o.Resolver = _resolver;
    });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Images_are_batched_seeded_stored_counted_and_listed_in_the_manifest()
    {
        var id = await StartAsync("""{"model":"tiny-sd-turbo","prompts":["a fox","a cat"],"num_images_per_prompt":4,"seed":100}""");

        var status = await _app.WaitForEndAsync(id);

        Assert.Equal("succeeded", status.GetProperty("status").GetString());
        Assert.Equal((8, 8), (status.GetProperty("progress").GetProperty("completed").GetInt32(), status.GetProperty("progress").GetProperty("total").GetInt32()));
        var images = status.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(0, 8).Select(k => 100L + k), images.Select(i => i.GetProperty("seed").GetInt64()));
        Assert.Equal($"generations/{id}/1-3.png", images[^1].GetProperty("blob").GetString());
        Assert.Equal([3, 3, 2], _app.Fake!.Jobs.Snapshot().Select(j => j.Items.Count).OrderByDescending(c => c));
        Assert.False(status.TryGetProperty("error", out _));

        var manifest = await ReadJsonAsync(WriteManifestActivity.BlobName($"generations/{id}"));
        Assert.Equal(("generation", "succeeded", 8, 8), (manifest.GetProperty("kind").GetString(), manifest.GetProperty("status").GetString(),
            manifest.GetProperty("images_total").GetInt32(), manifest.GetProperty("images_expected").GetInt32()));
        var request = Assert.Single(manifest.GetProperty("requests").EnumerateArray());
        Assert.False(request.TryGetProperty("line", out _));
        Assert.Equal(["a fox", "a cat"], request.GetProperty("request").GetProperty("prompts").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(8, request.GetProperty("images").GetArrayLength());
        Assert.Equal(3, manifest.GetProperty("timings").GetProperty("batches").GetInt32());
    }

    [Fact]
    public async Task Transient_failures_are_retried_with_the_same_blob_names()
    {
        _app.Fake!.Failure = () => new TimeoutException("storage timed out");
        _app.Fake.FailFirst = 2;
        var id = await StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":3}""");

        var status = await _app.WaitForEndAsync(id);

        Assert.Equal("succeeded", status.GetProperty("status").GetString());
        Assert.Equal(3, _app.Fake.Calls);
        Assert.Equal(3, _app.MemoryImages!.CountImages($"generations/{id}"));
    }

    [Fact]
    public async Task A_user_error_is_not_retried_and_the_get_shows_it_from_the_apps_own_output()
    {
        _app.Fake!.Failure = () => new DiffusionException("width 72 does not suit this UNet.");
        var id = await StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":9}""");

        var status = await _app.WaitForEndAsync(id);

        Assert.Equal("failed", status.GetProperty("status").GetString());
        Assert.Equal("invalid_request", status.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("width 72 does not suit this UNet.", status.GetProperty("error").GetProperty("message").GetString());
        Assert.InRange(_app.Fake.Calls, 1, _app.Options.RenderWindow);
        var instance = await _app.Client.GetInstanceAsync(id, getInputsAndOutputs: true);
        Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed, instance!.RuntimeStatus);
        var manifest = await ReadJsonAsync(WriteManifestActivity.BlobName($"generations/{id}"));
        Assert.Equal("failed", manifest.GetProperty("status").GetString());
        Assert.Equal("invalid_request", manifest.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Retries_stop_after_the_configured_attempts_and_fail_the_generation()
    {
        _app.Fake!.Failure = () => new IOException("disk gone");
        var id = await StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""");

        var status = await _app.WaitForEndAsync(id);

        Assert.Equal("failed", status.GetProperty("status").GetString());
        Assert.Equal("render_failed", status.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(_app.Options.RenderMaxAttempts, _app.Fake.Calls);
    }

    [Fact]
    public async Task A_large_generation_continues_as_new_every_batches_per_execution_and_counts_every_image()
    {
        await using var app = await TestApp.StartAsync(o =>
        {
            o.Settings["FewStep:BatchSize"] = "4";
            o.Settings["FewStep:BatchesPerExecution"] = "16";
            o.Settings["FewStep:RenderWindow"] = "4";
        });
        var id = (await app.StartAsync("""{"model":"tiny-sd-turbo","prompts":["a","b","c","d"],"num_images_per_prompt":250,"seed":1}""")).GetProperty("id").GetString()!;

        var status = await app.WaitForEndAsync(id, TimeSpan.FromMinutes(2));

        Assert.Equal("succeeded", status.GetProperty("status").GetString());
        Assert.Equal(1000, status.GetProperty("images").GetArrayLength());
        Assert.Equal(1000, status.GetProperty("progress").GetProperty("completed").GetInt32());
        Assert.Equal(250, app.Fake!.Calls);
        var input = (await app.Client.GetInstanceAsync(id, getInputsAndOutputs: true))!.ReadInputAs<RunInput>()!;
        Assert.Equal(250 / 16 + 1, input.Cursor!.Execution);
        Assert.Equal(Enumerable.Range(0, 1000).Select(k => 1L + k), status.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("seed").GetInt64()));
    }

    [Fact]
    public async Task Progress_counts_images_as_they_land()
    {
        _app.Fake!.Delay = TimeSpan.FromMilliseconds(400);
        var id = await StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":12}""");

        var seen = new List<(int Completed, int Listed)>();
        JsonElement status;
        do
        {
            status = await _app.GetStatusAsync(id);
            seen.Add((status.GetProperty("progress").GetProperty("completed").GetInt32(), status.GetProperty("images").GetArrayLength()));
            await Task.Delay(50);
        }
        while (status.GetProperty("status").GetString() is "pending" or "running");

        Assert.All(seen, s => Assert.Equal(s.Listed, s.Completed));
        Assert.Contains(seen, s => s.Completed is > 0 and < 12);
    }

    [Fact]
    public async Task The_webhook_receives_the_final_status()
    {
        using var hook = new LocalServer(context =>
        {
            context.Response.StatusCode = 204;
            return Task.CompletedTask;
        });
        var id = await StartAsync($$"""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":2,"webhook_url":"{{hook.BaseUri}}done"}""");

        await TestApp.EventuallyAsync(() => Task.FromResult(!hook.Requests.IsEmpty), TimeSpan.FromSeconds(30), "the webhook");
        var delivery = Assert.Single(hook.Requests);
        Assert.Equal(("POST", "/done"), (delivery.Method, delivery.PathAndQuery));
        var body = JsonDocument.Parse(delivery.Body).RootElement;

        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal("succeeded", body.GetProperty("status").GetString());
        Assert.Equal(2, body.GetProperty("images").GetArrayLength());
        Assert.Equal("succeeded", (await _app.WaitForEndAsync(id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_failing_webhook_is_retried_and_never_fails_the_generation()
    {
        var calls = 0;
        using var hook = new LocalServer(context =>
        {
            Interlocked.Increment(ref calls);
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        var id = await StartAsync($$"""{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"{{hook.BaseUri}}done"}""");

        var status = await _app.WaitForEndAsync(id);

        Assert.Equal("succeeded", status.GetProperty("status").GetString());
        Assert.Equal(_app.Options.WebhookMaxAttempts, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task A_webhook_whose_name_now_resolves_to_a_private_address_is_not_delivered_and_not_retried()
    {
        var gate = new TaskCompletionSource();
        _app.Fake!.Gate = gate.Task;
        var id = await StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://hooks.example/done"}""");

        // DNS changes between validation and delivery (rebinding): the connection must not be made.
        _resolver.Map("hooks.example", "10.0.0.5");
        gate.SetResult();
        var status = await _app.WaitForEndAsync(id);

        Assert.Equal("succeeded", status.GetProperty("status").GetString());
        Assert.Equal(2, _resolver.Questions.Count(q => q == "hooks.example"));
    }

    private async Task<string> StartAsync(string json) => (await _app.StartAsync(json)).GetProperty("id").GetString()!;

    private async Task<JsonElement> ReadJsonAsync(string blob)
    {
        var content = await _app.Images.ReadAsync(blob, CancellationToken.None);
        Assert.NotNull(content);
        return JsonDocument.Parse(content.ToMemory()).RootElement.Clone();
    }
}
