using Azure;
using Azure.Storage.Blobs;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Jobs;

/// <summary>
/// Starts the run of an uploaded job file, once per upload: the instance id comes from the blob's name and
/// ETag, so a re-delivered trigger (polling scan or Event Grid) finds the run and starts nothing.
/// </summary>
public sealed partial class JobStarter
{
    private readonly FewStepOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<JobStarter> _logger;

    public JobStarter(IOptions<FewStepOptions> options, TimeProvider time, ILogger<JobStarter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>The job's instance id (started now or before), or null when the blob is already gone.</summary>
    public async Task<string?> StartAsync(BlobClient blob, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(client);
        ETag etag;
        try
        {
            etag = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.ETag;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            LogGone(_logger, blob.Name);
            return null;
        }

        var id = JobIds.For(blob.BlobContainerName, blob.Name, etag.ToString());
        if (await client.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false) is not null)
        {
            LogDuplicate(_logger, blob.Name, id);
            return id;
        }

        var input = RunInputs.ForJob(id, blob.Name, etag.ToString(), _time.GetUtcNow(), _options);
        if (await OrchestrationStarts.StartOnceAsync(client, RunOrchestrator.Name, input, id, cancellationToken).ConfigureAwait(false) is not null)
        {
            // Two deliveries of one upload raced; the other started the run.
            LogDuplicate(_logger, blob.Name, id);
            return id;
        }

        LogStarted(_logger, blob.Name, id);
        return id;
    }

    [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Job file {Blob} started as {Id}")]
    private static partial void LogStarted(ILogger logger, string blob, string id);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Job file {Blob} already has run {Id}; a repeated trigger starts nothing")]
    private static partial void LogDuplicate(ILogger logger, string blob, string id);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Information, Message = "Job file {Blob} is gone; nothing to start")]
    private static partial void LogGone(ILogger logger, string blob);
}
