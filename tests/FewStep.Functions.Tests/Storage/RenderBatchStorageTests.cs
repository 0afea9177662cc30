using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using FewStep.Functions.Contracts;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using FewStep.Functions.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace FewStep.Functions.Tests.Storage;

/// <summary><see cref="RenderBatchActivity"/> and <see cref="WriteManifestActivity"/> writing to Azurite.</summary>
[Collection(AzuriteDefinition.Name)]
public sealed class RenderBatchStorageTests : IDisposable
{
    private const string Prefix = "generations/g42";

    private readonly BlobContainerClient _container;
    private readonly BlobImageStore _store;
    private readonly FakeRenderer _renderer = new();

    public RenderBatchStorageTests(AzuriteFixture azurite)
    {
        ArgumentNullException.ThrowIfNull(azurite);
        var name = AzuriteFixture.NewContainerName("batch");
        _container = azurite.BlobServiceClient.GetBlobContainerClient(name);
        _store = new BlobImageStore(azurite.BlobServiceClient, Microsoft.Extensions.Options.Options.Create(new FewStepOptions { ImagesContainer = name }), TimeProvider.System);
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task A_batch_uploads_one_png_per_image_named_by_prompt_and_image_with_its_metadata()
    {
        var activity = new RenderBatchActivity(_renderer, _store, NullLogger<RenderBatchActivity>.Instance);
        var input = Batch((0, 0, 42), (0, 1, 43), (1, 0, 44));

        var result = await activity.RunAsync(input, CancellationToken.None);

        Assert.Equal([$"{Prefix}/0-0.png", $"{Prefix}/0-1.png", $"{Prefix}/1-0.png"], result.Blobs);
        var blobs = await ListBlobsAsync();
        Assert.Equal(result.Blobs, blobs.Select(b => b.Name).ToArray());
        foreach (var blob in blobs)
        {
            var item = input.Job.Items.Single(i => blob.Name == RenderBatchInput.BlobName(Prefix, i.PromptIndex, i.ImageIndex));
            Assert.Equal("image/png", blob.Properties.ContentType);
            Assert.Equal(item.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture), blob.Metadata[ImageMetadata.Seed]);
            Assert.Equal("tiny-sd-turbo", blob.Metadata[ImageMetadata.Model]);
            Assert.Equal("2", blob.Metadata[ImageMetadata.Steps]);
            Assert.Equal("64", blob.Metadata[ImageMetadata.Width]);
            Assert.Equal("48", blob.Metadata[ImageMetadata.Height]);
            Assert.Equal($"png {item.PromptIndex}-{item.ImageIndex} seed {item.Seed}", (await _container.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString());
        }
    }

    [Fact]
    public async Task Running_the_same_batch_twice_leaves_the_same_blobs()
    {
        var activity = new RenderBatchActivity(_renderer, _store, NullLogger<RenderBatchActivity>.Instance);
        var input = Batch((0, 0, 1), (0, 1, 2), (1, 0, 3), (1, 1, 4));

        await activity.RunAsync(input, CancellationToken.None);
        var first = (await ListBlobsAsync()).Select(b => b.Name).ToArray();
        await activity.RunAsync(input, CancellationToken.None);
        var second = await ListBlobsAsync();

        Assert.Equal(4, first.Length);
        Assert.Equal(first, second.Select(b => b.Name).ToArray());
        Assert.Equal(2, _renderer.Calls);
        Assert.Equal(4, (await _store.ListImagesAsync(Prefix, CancellationToken.None)).Count);
    }

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(429)]
    [InlineData(408)]
    public async Task A_storage_failure_worth_retrying_becomes_a_transient_failure(int status)
    {
        var activity = new RenderBatchActivity(_renderer, new FailingStore(new RequestFailedException(status, "storage says no")), NullLogger<RenderBatchActivity>.Instance);

        var e = await Assert.ThrowsAsync<TransientFailureException>(() => activity.RunAsync(Batch((0, 0, 1)), CancellationToken.None));

        var inner = Assert.IsType<RequestFailedException>(e.InnerException);
        Assert.Equal(status, inner.Status);
        Assert.Contains("g42", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    [InlineData(404)]
    public async Task A_storage_failure_not_worth_retrying_fails_as_it_is(int status)
    {
        var activity = new RenderBatchActivity(_renderer, new FailingStore(new RequestFailedException(status, "bad request")), NullLogger<RenderBatchActivity>.Instance);

        var e = await Assert.ThrowsAsync<RequestFailedException>(() => activity.RunAsync(Batch((0, 0, 1)), CancellationToken.None));

        Assert.Equal(status, e.Status);
    }

    [Theory]
    [InlineData(503, true)]
    [InlineData(400, false)]
    public async Task A_storage_failure_while_writing_the_manifest_is_transient_only_when_worth_retrying(int status, bool transient)
    {
        var activity = new WriteManifestActivity(new FailingStore(new RequestFailedException(status, "storage says no")));
        var spec = new GenerationSpec { Model = "m", Prompts = ["a"], NumInferenceSteps = 1, GuidanceScale = 0, Width = 64, Height = 64, Seed = 1, NumImagesPerPrompt = 1 };
        var input = new ManifestInput("g42", Prefix, spec, "succeeded", null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 1, 1);

        var e = await Assert.ThrowsAnyAsync<Exception>(() => activity.RunAsync(input, CancellationToken.None));

        Assert.Equal(transient, e is TransientFailureException);
        Assert.Equal(status, (transient ? Assert.IsType<RequestFailedException>(e.InnerException) : Assert.IsType<RequestFailedException>(e)).Status);
    }

    [Fact]
    public async Task The_manifest_lists_exactly_the_uploaded_images()
    {
        var activity = new RenderBatchActivity(_renderer, _store, NullLogger<RenderBatchActivity>.Instance);
        var uploaded = new List<string>();
        uploaded.AddRange((await activity.RunAsync(Batch((1, 0, 44), (1, 1, 45)), CancellationToken.None)).Blobs);
        uploaded.AddRange((await activity.RunAsync(Batch((0, 0, 42), (0, 1, 43)), CancellationToken.None)).Blobs);
        var spec = new GenerationSpec
        {
            Model = "tiny-sd-turbo",
            Prompts = ["a red fox", "a blue bird"],
            NumInferenceSteps = 2,
            GuidanceScale = 0,
            Width = 64,
            Height = 48,
            Seed = 42,
            SeedWasGiven = true,
            NumImagesPerPrompt = 2,
        };
        var created = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

        await new WriteManifestActivity(_store).RunAsync(
            new ManifestInput("g42", Prefix, spec, "succeeded", null, created, created.AddSeconds(7.5), 2, 1234), CancellationToken.None);

        var blob = _container.GetBlobClient(WriteManifestActivity.BlobName(Prefix));
        Assert.Equal("application/json", (await blob.GetPropertiesAsync()).Value.ContentType);
        using var manifest = JsonDocument.Parse((await blob.DownloadContentAsync()).Value.Content.ToMemory());
        var root = manifest.RootElement;
        Assert.Equal("g42", root.GetProperty("id").GetString());
        Assert.Equal("succeeded", root.GetProperty("status").GetString());
        Assert.False(root.TryGetProperty("error", out _));
        Assert.Equal(4, root.GetProperty("images_expected").GetInt32());
        Assert.Equal(["a red fox", "a blue bird"], root.GetProperty("request").GetProperty("prompts").EnumerateArray().Select(p => p.GetString()!).ToArray());
        Assert.Equal(7.5, root.GetProperty("timings").GetProperty("wall_seconds").GetDouble());
        var images = root.GetProperty("images").EnumerateArray()
            .Select(i => (Prompt: i.GetProperty("prompt_index").GetInt32(), Image: i.GetProperty("image_index").GetInt32(), Seed: i.GetProperty("seed").GetInt64(), Blob: i.GetProperty("blob").GetString()!))
            .ToArray();
        Assert.Equal([(0, 0, 42L, $"{Prefix}/0-0.png"), (0, 1, 43L, $"{Prefix}/0-1.png"), (1, 0, 44L, $"{Prefix}/1-0.png"), (1, 1, 45L, $"{Prefix}/1-1.png")], images);
        Assert.Equal(uploaded.Order(StringComparer.Ordinal), images.Select(i => i.Blob).Order(StringComparer.Ordinal));
        // The manifest is not an image: listing still finds the four PNGs only.
        Assert.Equal(4, (await _store.ListImagesAsync(Prefix, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_failed_generation_gets_a_manifest_with_its_error_and_the_images_it_made()
    {
        var activity = new RenderBatchActivity(_renderer, _store, NullLogger<RenderBatchActivity>.Instance);
        await activity.RunAsync(Batch((0, 0, 7)), CancellationToken.None);
        var spec = new GenerationSpec
        {
            Model = "tiny-sd-turbo",
            Prompts = ["a", "b"],
            NumInferenceSteps = 1,
            GuidanceScale = 0,
            Width = 64,
            Height = 64,
            Seed = 7,
            NumImagesPerPrompt = 1,
        };
        var now = DateTimeOffset.UtcNow;

        await new WriteManifestActivity(_store).RunAsync(
            new ManifestInput("g42", Prefix, spec, "failed", new GenerationError(GenerationErrors.RenderFailed, "boom"), now, now, 2, 10), CancellationToken.None);

        using var manifest = JsonDocument.Parse((await _container.GetBlobClient(WriteManifestActivity.BlobName(Prefix)).DownloadContentAsync()).Value.Content.ToMemory());
        var root = manifest.RootElement;
        Assert.Equal("failed", root.GetProperty("status").GetString());
        Assert.Equal("render_failed", root.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("boom", root.GetProperty("error").GetProperty("message").GetString());
        Assert.Single(root.GetProperty("images").EnumerateArray());
        Assert.Equal(2, root.GetProperty("images_expected").GetInt32());
    }

    private static RenderBatchInput Batch(params (int Prompt, int Image, long Seed)[] items) =>
        new("g42", Prefix, new RenderJob("tiny-sd-turbo", 2, 0f, 64, 48,
            items.Select(i => new RenderItem(i.Prompt, i.Image, i.Seed, $"prompt {i.Prompt}", null, null, null)).ToList()));

    private async Task<List<BlobItem>> ListBlobsAsync()
    {
        var blobs = new List<BlobItem>();
        await foreach (var blob in _container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, Prefix + "/", CancellationToken.None))
        {
            blobs.Add(blob);
        }

        return blobs;
    }

    /// <summary>A store whose uploads fail with the given exception.</summary>
    private sealed class FailingStore(Exception failure) : IImageStore
    {
        public Task UploadPngAsync(string blobName, BinaryData png, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) => throw failure;

        public Task WriteJsonAsync(string blobName, BinaryData json, CancellationToken cancellationToken) => throw failure;

        public Task<BinaryData?> ReadAsync(string blobName, CancellationToken cancellationToken) => throw failure;

        public Task<IReadOnlyList<StoredImage>> ListImagesAsync(string prefix, CancellationToken cancellationToken) => throw failure;

        public Task<IReadOnlyList<Uri>> GetReadUrisAsync(IReadOnlyList<string> blobNames, CancellationToken cancellationToken) => throw failure;
    }
}
