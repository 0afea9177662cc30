using System.Net;
using System.Text.Json;
using FewStep.Diffusion;
using FewStep.Functions.Contracts;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Tests.Support;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace FewStep.Functions.Tests.Orchestration;

/// <summary>The orchestrators run for real in the in-process durable host, with a renderer that makes no pixels.</summary>
public sealed class GenerateImagesOrchestratorTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Images_are_batched_seeded_stored_and_counted()
    {
        var renderer = new FakeRenderer();
        var store = new InMemoryImageStore();
        await using var host = await DurableTestHost.StartAsync(renderer, store);
        var input = GenerationInputs.Create("g1", prompts: 3, imagesPerPrompt: 3, batchSize: 4, seed: 1000);

        var instance = await RunAsync(host.Client, input);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        var jobs = renderer.Jobs.Snapshot();
        Assert.Equal([1, 4, 4], jobs.Select(j => j.Items.Count).Order());
        var items = jobs.SelectMany(j => j.Items).OrderBy(i => i.PromptIndex).ThenBy(i => i.ImageIndex).ToList();
        Assert.Equal(Enumerable.Range(0, 9).Select(k => 1000L + k), items.Select(i => i.Seed));
        Assert.Equal(["prompt 0", "prompt 0", "prompt 0", "prompt 1"], items.Take(4).Select(i => i.Prompt));
        Assert.All(jobs, j => Assert.Equal((2, 64, 64), (j.NumInferenceSteps, j.Width, j.Height)));
        Assert.Equal(9, (await store.ListImagesAsync("generations/g1", default)).Count);
        Assert.Contains("generations/g1/2-2.png", store.Blobs.Keys);
        Assert.Equal(new GenerationProgress(9, 9), instance.ReadCustomStatusAs<GenerationProgress>());
        var output = instance.ReadOutputAs<GenerationOutput>()!;
        Assert.Equal((9, 3), (output.Images, output.Batches));

        using var manifest = JsonDocument.Parse(store.Blobs["generations/g1/manifest.json"].Data.ToString());
        Assert.Equal("succeeded", manifest.RootElement.GetProperty("status").GetString());
        Assert.Equal(9, manifest.RootElement.GetProperty("images").GetArrayLength());
        Assert.Equal(1000, manifest.RootElement.GetProperty("request").GetProperty("seed").GetInt64());
    }

    [Fact]
    public async Task Transient_failures_are_retried_with_the_same_blob_names()
    {
        var renderer = new FakeRenderer { Failure = () => new IOException("GPU worker lost"), FailFirst = 2 };
        var store = new InMemoryImageStore();
        await using var host = await DurableTestHost.StartAsync(renderer, store);

        var instance = await RunAsync(host.Client, GenerationInputs.Create("g2", prompts: 1, imagesPerPrompt: 2));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        Assert.Equal(3, renderer.Calls);
        Assert.Equal(["generations/g2/0-0.png", "generations/g2/0-1.png"], store.Blobs.Keys.Where(k => k.EndsWith(".png", StringComparison.Ordinal)).Order());
    }

    [Fact]
    public async Task A_user_error_is_not_retried_and_ends_the_generation_with_its_message()
    {
        var renderer = new FakeRenderer { Failure = () => new DiffusionException("width must be a positive multiple of 64, not 72.") };
        var store = new InMemoryImageStore();
        await using var host = await DurableTestHost.StartAsync(renderer, store);

        var instance = await RunAsync(host.Client, GenerationInputs.Create("g3", prompts: 1, imagesPerPrompt: 1));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, instance.RuntimeStatus);
        Assert.Equal(1, renderer.Calls);
        var error = GenerationErrors.From(instance.FailureDetails!);
        Assert.Equal(GenerationErrors.InvalidRequest, error.Code);
        Assert.Equal("width must be a positive multiple of 64, not 72.", error.Message);
        using var manifest = JsonDocument.Parse(store.Blobs["generations/g3/manifest.json"].Data.ToString());
        Assert.Equal("failed", manifest.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Retries_stop_after_the_configured_attempts()
    {
        var renderer = new FakeRenderer { Failure = () => new TimeoutException("storage timed out") };
        await using var host = await DurableTestHost.StartAsync(renderer, new InMemoryImageStore());

        var instance = await RunAsync(host.Client, GenerationInputs.Create("g4", prompts: 1, imagesPerPrompt: 1, retry: new RetrySettings(3, TimeSpan.FromMilliseconds(20), 1.0)));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, instance.RuntimeStatus);
        Assert.Equal(3, renderer.Calls);
        Assert.Equal(GenerationErrors.RenderFailed, GenerationErrors.From(instance.FailureDetails!).Code);
    }

    [Fact]
    public async Task Ten_thousand_images_complete_through_sub_orchestrations()
    {
        var renderer = new FakeRenderer();
        var store = new InMemoryImageStore();
        await using var host = await DurableTestHost.StartAsync(renderer, store);
        var input = GenerationInputs.Create("big", prompts: 100, imagesPerPrompt: 100, batchSize: 4, threshold: 64, perChunk: 64);

        var instance = await RunAsync(host.Client, input, TimeSpan.FromMinutes(5));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        Assert.Equal(2500, renderer.Calls);
        Assert.Equal(10_000, store.Uploads);
        Assert.Equal(10_000, (await store.ListImagesAsync("generations/big", default)).Count);
        Assert.Equal(new GenerationProgress(10_000, 10_000), instance.ReadCustomStatusAs<GenerationProgress>());
        Assert.Equal((10_000, 2500), (instance.ReadOutputAs<GenerationOutput>()!.Images, instance.ReadOutputAs<GenerationOutput>()!.Batches));
        var chunk = await host.Client.GetInstanceAsync("big-chunk-39");
        Assert.NotNull(chunk);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, chunk.RuntimeStatus);
        Assert.Null(await host.Client.GetInstanceAsync("big-chunk-40"));
    }

    [Fact]
    public async Task Terminating_cancels_a_running_generation()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var renderer = new BlockingRenderer(gate.Task);
        var store = new InMemoryImageStore();
        await using var host = await DurableTestHost.StartAsync(renderer, store);
        var input = GenerationInputs.Create("g5", prompts: 1, imagesPerPrompt: 8, batchSize: 1);
        await host.Client.ScheduleNewOrchestrationInstanceAsync(GenerateImagesOrchestrator.Name, input, new StartOrchestrationOptions { InstanceId = input.Id });
        await renderer.Started.Task.WaitAsync(s_timeout);

        await host.Client.TerminateInstanceAsync(input.Id, new TerminateInstanceOptions { Output = "canceled", Recursive = true });
        using var cts = new CancellationTokenSource(s_timeout);
        var instance = await host.Client.WaitForInstanceCompletionAsync(input.Id, getInputsAndOutputs: true, cts.Token);
        gate.SetResult();

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, instance.RuntimeStatus);
        Assert.False(store.Blobs.ContainsKey("generations/g5/manifest.json"));
    }

    [Fact]
    public async Task The_webhook_receives_the_final_status()
    {
        using var listener = new LocalServer(context =>
        {
            context.Response.StatusCode = 200;
            return Task.CompletedTask;
        });
        await using var host = await DurableTestHost.StartAsync(new FakeRenderer(), new InMemoryImageStore());

        var instance = await RunAsync(host.Client, GenerationInputs.Create("g6", prompts: 2, imagesPerPrompt: 1, webhook: new Uri(listener.BaseUri, "hook").AbsoluteUri));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        var body = Assert.Single(listener.Requests).Body;
        using var status = JsonDocument.Parse(body);
        Assert.Equal("g6", status.RootElement.GetProperty("id").GetString());
        Assert.Equal("succeeded", status.RootElement.GetProperty("status").GetString());
        Assert.Equal(2, status.RootElement.GetProperty("images").GetArrayLength());
        Assert.Equal(2, status.RootElement.GetProperty("progress").GetProperty("completed").GetInt32());
    }

    [Fact]
    public async Task A_failing_webhook_is_retried_and_never_fails_the_generation()
    {
        using var listener = new LocalServer(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        await using var host = await DurableTestHost.StartAsync(new FakeRenderer(), new InMemoryImageStore());

        var instance = await RunAsync(host.Client, GenerationInputs.Create("g7", prompts: 1, imagesPerPrompt: 1, webhook: new Uri(listener.BaseUri, "hook").AbsoluteUri,
            retry: new RetrySettings(3, TimeSpan.FromMilliseconds(20), 1.0)));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        Assert.Equal(3, listener.Requests.Count);
    }

    private static async Task<OrchestrationMetadata> RunAsync(DurableTaskClient client, GenerationInput input, TimeSpan? timeout = null)
    {
        await client.ScheduleNewOrchestrationInstanceAsync(GenerateImagesOrchestrator.Name, input, new StartOrchestrationOptions { InstanceId = input.Id });
        using var cts = new CancellationTokenSource(timeout ?? s_timeout);
        return await client.WaitForInstanceCompletionAsync(input.Id, getInputsAndOutputs: true, cts.Token);
    }

    private sealed class BlockingRenderer(Task gate) : FewStep.Functions.Rendering.IImageRenderer
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<IReadOnlyList<FewStep.Functions.Rendering.RenderedImage>> RenderAsync(FewStep.Functions.Rendering.RenderJob job, CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            await gate;
            return job.Items.Select(i => new FewStep.Functions.Rendering.RenderedImage(i, BinaryData.FromString("x"))).ToList();
        }
    }
}
