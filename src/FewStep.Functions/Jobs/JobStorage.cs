using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using FewStep.Functions.Options;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Jobs;

/// <summary>
/// A job's blobs: the uploaded file (read only at the ETag the run belongs to), its results folder and the
/// rejected-jobs container.
/// </summary>
public sealed class JobStorage
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private readonly BlobServiceClient _service;
    private readonly FewStepOptions _options;

    public JobStorage(BlobServiceClient service, IOptions<FewStepOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _service = service;
        _options = options.Value;
    }

    public long MaxJobBytes => _options.MaxJobBytes;

    public BlobContainerClient Jobs => _service.GetBlobContainerClient(JobIds.JobsContainer);

    public BlobContainerClient Results => _service.GetBlobContainerClient(_options.ResultsContainer);

    public BlobContainerClient Rejected => _service.GetBlobContainerClient(_options.RejectedJobsContainer);

    /// <summary>
    /// The job file's bytes at <paramref name="etag"/>; <see cref="JobFile.Gone"/> when it was deleted or replaced
    /// since (a newer upload has its own run), <see cref="JobFile.Content"/> null when it is over the size limit.
    /// </summary>
    public async Task<JobFile> ReadJobAsync(string blobName, string etag, CancellationToken cancellationToken)
    {
        var blob = Jobs.GetBlobClient(blobName);
        var conditions = new BlobRequestConditions { IfMatch = new ETag(etag) };
        try
        {
            var properties = (await blob.GetPropertiesAsync(conditions, cancellationToken).ConfigureAwait(false)).Value;
            if (properties.ContentLength > _options.MaxJobBytes)
            {
                return new JobFile(null, properties.ContentLength, Gone: false);
            }

            var content = (await blob.DownloadContentAsync(new BlobDownloadOptions { Conditions = conditions }, cancellationToken).ConfigureAwait(false)).Value.Content;
            return new JobFile(content, properties.ContentLength, Gone: false);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return new JobFile(null, 0, Gone: true);
        }
    }

    /// <summary>Moves the job file to the rejected-jobs container (same name), so it is visibly done with.</summary>
    public async Task MoveToRejectedAsync(string blobName, string etag, string jobId, CancellationToken cancellationToken)
    {
        var source = Jobs.GetBlobClient(blobName);
        var conditions = new BlobRequestConditions { IfMatch = new ETag(etag) };
        await Rejected.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            // Streamed through this worker rather than a server-side copy, which would need the source
            // authorized by a SAS or account key: the app has neither with a managed identity.
            await using (var stream = await source.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { Conditions = conditions }, cancellationToken).ConfigureAwait(false))
            {
                await Rejected.GetBlobClient(blobName).UploadAsync(stream, new BlobUploadOptions
                {
                    Metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["fewstep_job_id"] = jobId, ["fewstep_status"] = "rejected" },
                }, cancellationToken).ConfigureAwait(false);
            }

            await source.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, conditions, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            // Replaced or deleted meanwhile: the newer upload has its own run; nothing to move.
        }
    }

    /// <summary>Deletes a previous run's results under the prefix (a re-upload of the same name replaces them).</summary>
    public async Task ClearResultsAsync(string prefix, CancellationToken cancellationToken)
    {
        if (!await Results.ExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await foreach (var blob in Results.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix + "/", cancellationToken).ConfigureAwait(false))
        {
            await Results.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task WriteJsonAsync(string blobName, object value, CancellationToken cancellationToken)
    {
        await Results.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await Results.GetBlobClient(blobName).UploadAsync(BinaryData.FromObjectAsJson(value, s_json), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
        }, cancellationToken).ConfigureAwait(false);
    }
}
