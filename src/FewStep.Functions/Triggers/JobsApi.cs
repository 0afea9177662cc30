using Azure;
using Azure.Storage.Blobs;
using FewStep.Functions.Jobs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Triggers;

/// <summary><c>GET /api/jobs/{name}</c>: the run of <c>jobs/{name}</c> as the file is now (or, once rejected, as it was moved).</summary>
public sealed class JobsApi
{
    private readonly JobStorage _storage;
    private readonly RunStatusReader _statusReader;
    private readonly ILogger<JobsApi> _logger;

    public JobsApi(JobStorage storage, RunStatusReader statusReader, ILogger<JobsApi> logger)
    {
        _storage = storage;
        _statusReader = statusReader;
        _logger = logger;
    }

    [Function("GetJob")]
    public Task<IActionResult> GetJob(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "jobs/{*name}")] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        string? name)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        return ApiGuard.RunAsync(request, _logger, async cancellationToken =>
        {
            if (!IsJobName(name))
            {
                return ApiResponses.NotFound("No such job.",
                    $"Name the job file after /api/jobs/, as it was uploaded to the '{JobIds.JobsContainer}' container (for example /api/jobs/spring/catalogue.jsonl).");
            }

            var id = await FindRunAsync(_storage.Jobs.GetBlobClient(name), cancellationToken).ConfigureAwait(false)
                ?? await FindRunAsync(_storage.Rejected.GetBlobClient(name), cancellationToken).ConfigureAwait(false);
            var instance = id is null ? null : await PublicRuns.FindAsync(client, id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            if (instance is null)
            {
                return ApiResponses.NotFound("No such job.", $"No run of '{JobIds.JobsContainer}/{name}' was found: is the file uploaded (its trigger may not have fired yet)?");
            }

            var status = await _statusReader.ReadAsync(instance, cancellationToken).ConfigureAwait(false);
            return ApiResponses.Json(StatusCodes.Status200OK, status).WithHeader("Content-Location", GenerationsApi.StatusUrl(request, instance.InstanceId));
        });
    }

    // A blob name as the jobs container can hold it: not empty, at most 1,024 characters, no empty, "." or ".." segments.
    private static bool IsJobName(string? name) =>
        !string.IsNullOrWhiteSpace(name) && name.Length <= 1024
        && name.Split('/').All(segment => segment.Length > 0 && segment is not "." and not "..")
        && !name.Any(char.IsControl);

    private static async Task<string?> FindRunAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            return properties.Metadata.TryGetValue("fewstep_job_id", out var moved)
                ? moved
                : JobIds.For(blob.BlobContainerName, blob.Name, properties.ETag.ToString());
        }
        catch (RequestFailedException e) when (e.Status is 404 or 400)
        {
            // 400: a name storage refuses (InvalidResourceName) cannot be an uploaded job either.
            return null;
        }
    }
}
