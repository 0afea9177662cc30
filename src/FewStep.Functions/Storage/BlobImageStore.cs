using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using FewStep.Functions.Options;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Storage;

/// <summary>
/// <see cref="IImageStore"/> on Azure Blob Storage. Image URLs are read-only SAS for one blob: signed with the
/// account key where the client has it (Azurite, connection strings), otherwise with a user delegation key
/// (managed identity; no account keys anywhere).
/// </summary>
public sealed class BlobImageStore : IImageStore, IDisposable
{
    private readonly BlobServiceClient _service;
    private readonly BlobContainerClient _container;
    private readonly TimeSpan _sasLifetime;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _keyGate = new(1, 1);
    private volatile bool _containerReady;
    private UserDelegationKey? _delegationKey;

    public BlobImageStore(BlobServiceClient service, IOptions<FewStepOptions> options, TimeProvider time)
        : this(service, (options ?? throw new ArgumentNullException(nameof(options))).Value.ImagesContainer, options.Value.SasLifetime, time)
    {
    }

    public BlobImageStore(BlobServiceClient service, string container, TimeSpan sasLifetime, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(service);
        _service = service;
        _container = service.GetBlobContainerClient(container);
        _sasLifetime = sasLifetime;
        _time = time;
    }

    public async Task UploadPngAsync(string blobName, BinaryData png, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        await _container.GetBlobClient(blobName).UploadAsync(png, new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "image/png" },
            Metadata = metadata.ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal),
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteJsonAsync(string blobName, BinaryData json, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        await _container.GetBlobClient(blobName).UploadAsync(json, new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> TryCreateJsonAsync(string blobName, BinaryData json, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // If-None-Match: * makes the create atomic: of concurrent writers exactly one succeeds.
            await _container.GetBlobClient(blobName).UploadAsync(json, new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    public async Task DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken)
    {
        try
        {
            await _container.GetBlobClient(blobName).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // The container itself is missing: nothing to delete.
        }
    }

    public async Task<bool> ExistsAsync(string blobName, CancellationToken cancellationToken)
    {
        try
        {
            return (await _container.GetBlobClient(blobName).ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // The container itself is missing.
            return false;
        }
    }

    public async Task<BinaryData?> ReadAsync(string blobName, CancellationToken cancellationToken)
    {
        try
        {
            return (await _container.GetBlobClient(blobName).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<StoredImage>> ListImagesAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var images = new List<StoredImage>();

        // "Under the prefix" as a folder: generations/abc must not list generations/abcd/... too.
        var folder = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        try
        {
            await foreach (var blob in _container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, folder, cancellationToken).ConfigureAwait(false))
            {
                if (blob.Name.EndsWith(".png", StringComparison.Ordinal) && ImageMetadata.Parse(blob.Name, blob.Metadata) is { } image)
                {
                    images.Add(image);
                }
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // No container yet (nothing uploaded): no images. Caught rather than asked first, which would cost
            // every status poll an extra request.
            return images;
        }

        return images.OrderBy(i => i.PromptIndex).ThenBy(i => i.ImageIndex).ToList();
    }

    public async Task<IReadOnlyList<Uri>> GetReadUrisAsync(IReadOnlyList<string> blobNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blobNames);
        var expiresOn = _time.GetUtcNow().Add(_sasLifetime);
        if (_container.CanGenerateSasUri)
        {
            return blobNames.Select(name => _container.GetBlobClient(name).GenerateSasUri(BlobSasPermissions.Read, expiresOn)).ToList();
        }

        var key = await GetDelegationKeyAsync(expiresOn, cancellationToken).ConfigureAwait(false);
        return blobNames.Select(name =>
        {
            var sas = new BlobSasBuilder(BlobSasPermissions.Read, expiresOn)
            {
                BlobContainerName = _container.Name,
                BlobName = name,
                Resource = "b",
                StartsOn = _time.GetUtcNow().AddMinutes(-5),
            };
            return new BlobUriBuilder(_container.GetBlobClient(name).Uri) { Sas = sas.ToSasQueryParameters(key, _service.AccountName) }.ToUri();
        }).ToList();
    }

    // One user delegation key serves many URLs; a new one is fetched when it would expire before the SAS.
    private async Task<UserDelegationKey> GetDelegationKeyAsync(DateTimeOffset expiresOn, CancellationToken cancellationToken)
    {
        await _keyGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_delegationKey is null || _delegationKey.SignedExpiresOn < expiresOn)
            {
                var now = _time.GetUtcNow();
                // A key may live 7 days at most; asking for twice the SAS lifetime lets it serve many requests.
                var keyExpiry = expiresOn.Add(_sasLifetime) < now.AddDays(7) ? expiresOn.Add(_sasLifetime) : now.AddDays(7);
                _delegationKey = (await _service.GetUserDelegationKeyAsync(now.AddMinutes(-5), keyExpiry, cancellationToken).ConfigureAwait(false)).Value;
            }

            return _delegationKey;
        }
        finally
        {
            _keyGate.Release();
        }
    }

    public void Dispose() => _keyGate.Dispose();

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (!_containerReady)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            _containerReady = true;
        }
    }
}
