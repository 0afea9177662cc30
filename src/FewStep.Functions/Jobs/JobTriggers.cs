using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace FewStep.Functions.Jobs;

/// <summary>
/// Uploading <c>jobs/&lt;name&gt;.json(l)</c> starts a job. Two triggers, one per blob trigger source: the
/// polling scan (works with Azurite; the default locally) and Event Grid (what Flex Consumption and Container
/// Apps hosting recommend). Disable the one you do not use with <c>AzureWebJobs.&lt;name&gt;.Disabled</c>; if both
/// fire for one upload, the ETag-derived instance id still makes it one run.
/// </summary>
public sealed class JobTriggers
{
    private readonly JobStarter _starter;

    public JobTriggers(JobStarter starter) => _starter = starter;

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
}
