namespace FewStep.Functions.Storage;

/// <summary>Where images and manifests go: one blob container (images for generations, results for jobs).</summary>
public interface IImageStore
{
    /// <summary>Uploads (or overwrites: a retried batch writes the same names) one PNG with its metadata.</summary>
    Task UploadPngAsync(string blobName, BinaryData png, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken);

    /// <summary>Writes a JSON document (manifest, error report).</summary>
    Task WriteJsonAsync(string blobName, BinaryData json, CancellationToken cancellationToken);

    /// <summary>Writes a JSON document only if no blob of that name exists; false when one did (nothing written).</summary>
    Task<bool> TryCreateJsonAsync(string blobName, BinaryData json, CancellationToken cancellationToken);

    /// <summary>Whether a blob exists.</summary>
    Task<bool> ExistsAsync(string blobName, CancellationToken cancellationToken);

    /// <summary>Deletes a blob if it exists (a run's live preview once the run has ended).</summary>
    Task DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken);

    /// <summary>Reads a blob, or null when it does not exist.</summary>
    Task<BinaryData?> ReadAsync(string blobName, CancellationToken cancellationToken);

    /// <summary>The PNGs under <paramref name="prefix"/>, ordered by prompt then image index.</summary>
    Task<IReadOnlyList<StoredImage>> ListImagesAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Read-only URLs (SAS) for these blobs, valid for the configured lifetime.</summary>
    Task<IReadOnlyList<Uri>> GetReadUrisAsync(IReadOnlyList<string> blobNames, CancellationToken cancellationToken);
}
