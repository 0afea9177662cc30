using System.Net;
using Azure;
using Azure.Storage.Blobs;
using FewStep.Functions.Triggers;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask.Client;

namespace FewStep.Functions.Jobs;

/// <summary>
/// Uploading <c>jobs/&lt;name&gt;.json(l)</c> starts a job. Two triggers, one per blob trigger source: the
/// polling scan (works with Azurite; the default locally) and Event Grid (what Flex Consumption and Container
/// Apps hosting recommend). Disable the one you do not use with <c>AzureWebJobs.&lt;name&gt;.Disabled</c>; if both
/// fire for one upload, the ETag-derived instance id still makes it one run. <c>GET /api/jobs/{name}</c> finds a
/// job's run from its name.
/// </summary>
public sealed class JobTriggers
{
    private readonly JobStarter _starter;
    private readonly JobStorage _storage;
    private readonly GenerationStatusReader _statusReader;

    public JobTriggers(JobStarter starter, JobStorage storage, GenerationStatusReader statusReader)
    {
        _starter = starter;
        _storage = storage;
        _statusReader = statusReader;
    }

    [Function("SubmitJob")]
    public Task SubmitJob(
        [BlobTrigger(JobIds.JobsContainer + "/{name}", Connection = "AzureWebJobsStorage")] BlobClient blob,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) => _starter.StartAsync(blob, client, cancellationToken);

    [Function("SubmitJobFromEventGrid")]
    public Task SubmitJobFromEventGrid(
        [BlobTrigger(JobIds.JobsContainer + "/{name}", Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")] BlobClient blob,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) => _starter.StartAsync(blob, client, cancellationToken);

    /// <summary>The status of the run of <c>jobs/{name}</c> as it is now (or, once rejected, as it was moved).</summary>
    [Function("GetJob")]
    public async Task<HttpResponseData> GetJob(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "jobs/{*name}")] HttpRequestData request,
        [DurableClient] DurableTaskClient client,
        string name,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var id = await FindRunAsync(_storage.Jobs.GetBlobClient(name), cancellationToken).ConfigureAwait(false)
            ?? await FindRunAsync(_storage.Rejected.GetBlobClient(name), cancellationToken).ConfigureAwait(false);
        var instance = id is null ? null : await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (instance is null)
        {
            return await HttpResponses.ProblemAsync(request, HttpStatusCode.NotFound, "No such job.",
                $"No run of '{JobIds.JobsContainer}/{name}' was found: is the file uploaded (its trigger may not have fired yet)?", cancellationToken).ConfigureAwait(false);
        }

        var status = await _statusReader.ReadAsync(instance, cancellationToken).ConfigureAwait(false);
        var response = await HttpResponses.JsonAsync(request, HttpStatusCode.OK, status, cancellationToken).ConfigureAwait(false);
        response.Headers.Add("Content-Location", GenerationsApi.StatusUrl(request, instance.InstanceId));
        return response;
    }

    private static async Task<string?> FindRunAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            return properties.Metadata.TryGetValue("fewstep_job_id", out var moved)
                ? moved
                : JobIds.For(blob.BlobContainerName, blob.Name, properties.ETag.ToString());
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }
}
