using System.Collections.Concurrent;
using FewStep.Functions.Storage;

namespace FewStep.Functions.Tests.Support;

/// <summary>An <see cref="IImageStore"/> in memory: uploads are counted, so a test can see what was written and when.</summary>
internal sealed class InMemoryImageStore : IImageStore
{
    private int _uploads;

    public ConcurrentDictionary<string, (BinaryData Data, IReadOnlyDictionary<string, string> Metadata)> Blobs { get; } = new(StringComparer.Ordinal);

    public int Uploads => Volatile.Read(ref _uploads);

    /// <summary>When set, every call throws what it makes (storage down).</summary>
    public Func<Exception>? Outage { get; set; }

    public Task UploadPngAsync(string blobName, BinaryData png, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        Check();
        Interlocked.Increment(ref _uploads);
        Blobs[blobName] = (png, metadata);
        return Task.CompletedTask;
    }

    public Task WriteJsonAsync(string blobName, BinaryData json, CancellationToken cancellationToken)
    {
        Check();
        Blobs[blobName] = (json, new Dictionary<string, string>());
        return Task.CompletedTask;
    }

    public Task<bool> TryCreateJsonAsync(string blobName, BinaryData json, CancellationToken cancellationToken)
    {
        Check();
        return Task.FromResult(Blobs.TryAdd(blobName, (json, new Dictionary<string, string>())));
    }

    public Task DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken)
    {
        Check();
        Blobs.TryRemove(blobName, out _);
        return Task.CompletedTask;
    }

    public Task<bool> ExistsAsync(string blobName, CancellationToken cancellationToken)
    {
        Check();
        return Task.FromResult(Blobs.ContainsKey(blobName));
    }

    public Task<BinaryData?> ReadAsync(string blobName, CancellationToken cancellationToken)
    {
        Check();
        return Task.FromResult(Blobs.TryGetValue(blobName, out var blob) ? blob.Data : null);
    }

    public Task<IReadOnlyList<StoredImage>> ListImagesAsync(string prefix, CancellationToken cancellationToken)
    {
        Check();
        return Task.FromResult<IReadOnlyList<StoredImage>>(Blobs
            .Where(b => b.Key.StartsWith(prefix + "/", StringComparison.Ordinal) && b.Key.EndsWith(".png", StringComparison.Ordinal))
            .Select(b => ImageMetadata.Parse(b.Key, b.Value.Metadata.ToDictionary(m => m.Key, m => m.Value)))
            .OfType<StoredImage>()
            .OrderBy(i => i.PromptIndex).ThenBy(i => i.ImageIndex)
            .ToList());
    }

    public Task<IReadOnlyList<Uri>> GetReadUrisAsync(IReadOnlyList<string> blobNames, CancellationToken cancellationToken)
    {
        Check();
        return Task.FromResult<IReadOnlyList<Uri>>(blobNames.Select(n => new Uri($"https://store.example/images/{n}?sig=test")).ToList());
    }

    /// <summary>The PNGs under a prefix.</summary>
    public int CountImages(string prefix) => Blobs.Keys.Count(k => k.StartsWith(prefix + "/", StringComparison.Ordinal) && k.EndsWith(".png", StringComparison.Ordinal));

    private void Check()
    {
        if (Outage is { } outage)
        {
            throw outage();
        }
    }
}
