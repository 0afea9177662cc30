using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using FewStep.Functions.Contracts;
using FewStep.Functions.Manifests;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Plans;
using FewStep.Functions.Storage;
using FewStep.Functions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FewStep.Functions.Tests.Storage;

/// <summary><see cref="RenderBatchActivity"/> and <see cref="WriteManifestActivity"/> writing to Azurite (and to a failing store).</summary>
[Collection(AzuriteDefinition.Name)]
public sealed class RenderBatchStorageTests : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite;
    private TestApp _app = null!;

    public RenderBatchStorageTests(AzuriteFixture azurite) => _azurite = azurite;

    private BlobContainerClient Container => _azurite.BlobServiceClient.GetBlobContainerClient(_app.Options.ImagesContainer);

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Azurite = _azurite;
        o.Settings["FewStep:BatchSize"] = "3";
    });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task A_batch_uploads_one_png_per_image_named_by_prompt_and_image_with_its_metadata()
    {
        var run = await RecordAsync(_app, prompts: 2, imagesPerPrompt: 2, seed: 42);

        var result = await _app.Services.GetRequiredService<RenderBatchActivity>().RunAsync(new RenderBatchInput(run, 0), CancellationToken.None);

        Assert.Equal(3, result.Images);
        Assert.False(result.Canceled);
        var blobs = await ListBlobsAsync(run.Prefix);
        Assert.Equal([$"{run.Prefix}/0-0.png", $"{run.Prefix}/0-1.png", $"{run.Prefix}/1-0.png"], blobs.Select(b => b.Name));
        foreach (var (blob, seed) in blobs.Zip([42L, 43, 44]))
        {
            Assert.Equal("image/png", blob.Properties.ContentType);
            Assert.Equal(seed.ToString(CultureInfo.InvariantCulture), blob.Metadata[ImageMetadata.Seed]);
            Assert.Equal(TestApp.Model, blob.Metadata[ImageMetadata.Model]);
            Assert.Equal(("1", "64", "48"), (blob.Metadata[ImageMetadata.Steps], blob.Metadata[ImageMetadata.Width], blob.Metadata[ImageMetadata.Height]));
            Assert.False(blob.Metadata.ContainsKey(ImageMetadata.Line));
        }
    }

    [Fact]
    public async Task Running_the_same_batch_twice_leaves_the_same_blobs()
    {
        var run = await RecordAsync(_app, prompts: 1, imagesPerPrompt: 3, seed: 1);
        var activity = _app.Services.GetRequiredService<RenderBatchActivity>();

        await activity.RunAsync(new RenderBatchInput(run, 0), CancellationToken.None);
        var first = (await ListBlobsAsync(run.Prefix)).Select(b => b.Name).ToArray();
        await activity.RunAsync(new RenderBatchInput(run, 0), CancellationToken.None);

        Assert.Equal(3, first.Length);
        Assert.Equal(first, (await ListBlobsAsync(run.Prefix)).Select(b => b.Name));
        Assert.Equal(2, _app.Fake!.Calls);
    }

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(429)]
    [InlineData(408)]
    public async Task A_storage_failure_worth_retrying_becomes_a_transient_failure(int status)
    {
        await using var app = await TestApp.StartAsync();
        var run = await RecordAsync(app, 1, 1, 1);
        app.MemoryImages!.Outage = () => new RequestFailedException(status, "storage says no");

        var e = await Assert.ThrowsAsync<TransientFailureException>(() => app.Services.GetRequiredService<RenderBatchActivity>().RunAsync(new RenderBatchInput(run, 0), CancellationToken.None));

        Assert.Equal(status, Assert.IsType<RequestFailedException>(e.InnerException).Status);
        Assert.Contains(run.Id, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    public async Task A_storage_failure_not_worth_retrying_fails_as_it_is(int status)
    {
        await using var app = await TestApp.StartAsync();
        var run = await RecordAsync(app, 1, 1, 1);
        app.MemoryImages!.Outage = () => new RequestFailedException(status, "bad request");

        var e = await Assert.ThrowsAsync<RequestFailedException>(() => app.Services.GetRequiredService<RenderBatchActivity>().RunAsync(new RenderBatchInput(run, 0), CancellationToken.None));

        Assert.Equal(status, e.Status);
    }

    [Theory]
    [InlineData(503, true)]
    [InlineData(400, false)]
    public async Task A_storage_failure_while_writing_the_manifest_is_transient_only_when_worth_retrying(int status, bool transient)
    {
        await using var app = await TestApp.StartAsync();
        var run = await RecordAsync(app, 1, 1, 1);
        app.MemoryImages!.Outage = () => new RequestFailedException(status, "storage says no");

        var e = await Assert.ThrowsAnyAsync<Exception>(() => app.Services.GetRequiredService<WriteManifestActivity>().RunAsync(
            new ManifestInput(run, [], false, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 1, 1), CancellationToken.None));

        Assert.Equal(transient, e is TransientFailureException);
        Assert.Equal(status, (transient ? Assert.IsType<RequestFailedException>(e.InnerException) : Assert.IsType<RequestFailedException>(e)).Status);
    }

    [Fact]
    public async Task The_manifest_lists_exactly_the_uploaded_images_with_urls_that_work()
    {
        var run = await RecordAsync(_app, prompts: 2, imagesPerPrompt: 2, seed: 42);
        var activity = _app.Services.GetRequiredService<RenderBatchActivity>();
        await activity.RunAsync(new RenderBatchInput(run, 1), CancellationToken.None);
        await activity.RunAsync(new RenderBatchInput(run, 0), CancellationToken.None);
        var created = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

        var summary = await _app.Services.GetRequiredService<WriteManifestActivity>().RunAsync(
            new ManifestInput(run, [], false, created, created.AddSeconds(7.5), 2, 1234), CancellationToken.None);

        Assert.Equal(new ManifestSummary("succeeded", 1, 0, 4, 4), summary);
        var blob = Container.GetBlobClient(WriteManifestActivity.BlobName(run.Prefix));
        Assert.Equal("application/json", (await blob.GetPropertiesAsync()).Value.ContentType);
        var root = JsonDocument.Parse((await blob.DownloadContentAsync()).Value.Content.ToMemory()).RootElement;
        Assert.Equal((run.Id, "generation", "succeeded", 4, 4), (root.GetProperty("id").GetString(), root.GetProperty("kind").GetString(), root.GetProperty("status").GetString(),
            root.GetProperty("images_total").GetInt32(), root.GetProperty("images_expected").GetInt32()));
        Assert.False(root.TryGetProperty("error", out _));
        Assert.Equal(7.5, root.GetProperty("timings").GetProperty("wall_seconds").GetDouble());
        var request = root.GetProperty("requests")[0];
        Assert.Equal(["prompt 0", "prompt 1"], request.GetProperty("request").GetProperty("prompts").EnumerateArray().Select(p => p.GetString()));
        var images = request.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal([$"{run.Prefix}/0-0.png", $"{run.Prefix}/0-1.png", $"{run.Prefix}/1-0.png", $"{run.Prefix}/1-1.png"], images.Select(i => i.GetProperty("blob").GetString()));
        using var http = new HttpClient();
        Assert.Equal("png 1-1 seed 45", await http.GetStringAsync(new Uri(images[3].GetProperty("url").GetString()!)));
        Assert.Equal(4, (await _app.Images.ListImagesAsync(run.Prefix, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_failed_batch_fails_the_request_in_the_manifest_with_its_error_and_keeps_the_images_made()
    {
        var run = await RecordAsync(_app, prompts: 2, imagesPerPrompt: 2, seed: 7);
        await _app.Services.GetRequiredService<RenderBatchActivity>().RunAsync(new RenderBatchInput(run, 0), CancellationToken.None);
        var now = DateTimeOffset.UtcNow;

        var summary = await _app.Services.GetRequiredService<WriteManifestActivity>().RunAsync(
            new ManifestInput(run, [new BatchFailure(1, new GenerationError(RunErrors.RenderFailed, "boom"))], false, now, now, 2, 10), CancellationToken.None);

        Assert.Equal(new ManifestSummary("failed", 1, 1, 3, 4), summary);
        var root = JsonDocument.Parse((await Container.GetBlobClient(WriteManifestActivity.BlobName(run.Prefix)).DownloadContentAsync()).Value.Content.ToMemory()).RootElement;
        Assert.Equal("failed", root.GetProperty("status").GetString());
        Assert.Equal(("render_failed", "boom"), (root.GetProperty("error").GetProperty("code").GetString(), root.GetProperty("error").GetProperty("message").GetString()));
        Assert.Equal(3, root.GetProperty("requests")[0].GetProperty("images").GetArrayLength());
    }

    /// <summary>Records a generation's request as POST does, without starting it: the activities are driven by hand.</summary>
    private static async Task<RunRef> RecordAsync(TestApp app, int prompts, int imagesPerPrompt, long seed)
    {
        var id = Guid.NewGuid().ToString("N");
        var spec = new GenerationSpec
        {
            Model = TestApp.Model,
            Prompts = Enumerable.Range(0, prompts).Select(p => $"prompt {p}").ToList(),
            NumInferenceSteps = 1,
            GuidanceScale = 0,
            Width = 64,
            Height = 48,
            Seed = seed,
            SeedWasGiven = true,
            NumImagesPerPrompt = imagesPerPrompt,
        };
        Assert.True(await app.Services.GetRequiredService<RunPlanStore>().TryCreateRequestAsync(new StoredRequest(id, null, DateTimeOffset.UtcNow, app.Options.BatchSize, spec), CancellationToken.None));
        return new RunRef(id, RunKind.Generation, RunPlanStore.GenerationPrefix(id));
    }

    private async Task<List<BlobItem>> ListBlobsAsync(string prefix)
    {
        var blobs = new List<BlobItem>();
        await foreach (var blob in Container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, prefix + "/", CancellationToken.None))
        {
            if (blob.Name.EndsWith(".png", StringComparison.Ordinal))
            {
                blobs.Add(blob);
            }
        }

        return blobs;
    }
}
