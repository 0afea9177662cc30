using System.Collections.Concurrent;
using FewStep.Functions.Storage;

namespace FewStep.Functions.Tests.Support;

/// <summary>An <see cref="IImageStore"/> in memory, for orchestration and HTTP tests that need no Azurite.</summary>
internal sealed class InMemoryImageStore : IImageStore
{
    public ConcurrentDictionary<string, (BinaryData Data, IReadOnlyDictionary<string, string> Metadata)> Blobs { get; } = new(StringComparer.Ordinal);

    public int Uploads;

    public Task UploadPngAsync(string blobName, BinaryData png, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Uploads);
        Blobs[blobName] = (png, metadata);
        return Task.CompletedTask;
    }

    public Task WriteJsonAsync(string blobName, BinaryData json, CancellationToken cancellationToken)
    {
        Blobs[blobName] = (json, new Dictionary<string, string>());
        return Task.CompletedTask;
    }

    public Task<BinaryData?> ReadAsync(string blobName, CancellationToken cancellationToken) =>
        Task.FromResult(Blobs.TryGetValue(blobName, out var blob) ? blob.Data : null);

    public Task<IReadOnlyList<StoredImage>> ListImagesAsync(string prefix, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<StoredImage>>(Blobs
            .Where(b => b.Key.StartsWith(prefix + "/", StringComparison.Ordinal) && b.Key.EndsWith(".png", StringComparison.Ordinal))
            .Select(b => ImageMetadata.Parse(b.Key, b.Value.Metadata.ToDictionary(m => m.Key, m => m.Value)))
            .OfType<StoredImage>()
            .OrderBy(i => i.PromptIndex).ThenBy(i => i.ImageIndex)
            .ToList());

    public Task<IReadOnlyList<Uri>> GetReadUrisAsync(IReadOnlyList<string> blobNames, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Uri>>(blobNames.Select(n => new Uri($"https://store.example/images/{n}?sig=test")).ToList());
}
