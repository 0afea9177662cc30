using Azure;
using FewStep.Functions.Orchestration;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Jobs;

/// <summary>
/// Reads and validates a job file at its run's ETag. A valid job gets its plan written; a malformed one gets
/// <c>error.json</c> listing every problem with its line, and the file moves to the rejected-jobs container —
/// so it is never retried, and nothing of it is rendered.
/// </summary>
public sealed partial class PlanJobActivity
{
    public const string Name = "PlanJob";

    private readonly JobStorage _storage;
    private readonly JobFileParser _parser;
    private readonly TimeProvider _time;
    private readonly ILogger<PlanJobActivity> _logger;

    public PlanJobActivity(JobStorage storage, JobFileParser parser, TimeProvider time, ILogger<PlanJobActivity> logger)
    {
        _storage = storage;
        _parser = parser;
        _time = time;
        _logger = logger;
    }

    public static string ErrorBlobName(string resultsPrefix) => $"{resultsPrefix}/error.json";

    public static string MarkerBlobName(string resultsPrefix) => $"{resultsPrefix}/job.json";

    [Function(Name)]
    public Task<JobPlanSummary> Run([ActivityTrigger] JobInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(input, context.CancellationToken);
    }

    public async Task<JobPlanSummary> RunAsync(JobInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            var file = await _storage.ReadJobAsync(input.BlobName, input.ETag, cancellationToken).ConfigureAwait(false);
            if (file.Gone)
            {
                LogSuperseded(_logger, input.Id, input.BlobName);
                return new JobPlanSummary(JobPlanSummary.Superseded, 0, 0, 0, 0);
            }

            var parsed = file.Content is null
                ? new ParsedJob([], [new JobProblem(null, "file", $"is {file.Length} bytes; a job file may be at most {_storage.MaxJobBytes} bytes.")])
                : _parser.Parse(input.BlobName, file.Content.ToMemory().Span, line => JobIds.SeedFor(input.Id, line));
            await _storage.ClearResultsAsync(input.ResultsPrefix, cancellationToken).ConfigureAwait(false);
            if (!parsed.IsValid)
            {
                await _storage.WriteJsonAsync(ErrorBlobName(input.ResultsPrefix), new
                {
                    id = input.Id,
                    job = $"{JobIds.JobsContainer}/{input.BlobName}",
                    etag = input.ETag,
                    status = "rejected",
                    moved_to = $"{_storage.Rejected.Name}/{input.BlobName}",
                    rejected_at = _time.GetUtcNow(),
                    problems = parsed.Problems,
                }, cancellationToken).ConfigureAwait(false);
                await _storage.MoveToRejectedAsync(input.BlobName, input.ETag, input.Id, cancellationToken).ConfigureAwait(false);
                LogRejected(_logger, input.Id, input.BlobName, parsed.Problems.Count);
                return new JobPlanSummary(JobPlanSummary.Rejected, 0, 0, 0, parsed.Problems.Count);
            }

            var plan = JobPlan.Create(input.Id, $"{JobIds.JobsContainer}/{input.BlobName}", input.ETag, parsed.Requests, input.BatchSize);
            await _storage.WritePlanAsync(input.ResultsPrefix, plan, cancellationToken).ConfigureAwait(false);
            await _storage.WriteJsonAsync(MarkerBlobName(input.ResultsPrefix), new
            {
                id = input.Id,
                job = plan.Source,
                etag = input.ETag,
                status = "running",
                requests = plan.Requests.Count,
                images = plan.ImageCount,
            }, cancellationToken).ConfigureAwait(false);
            LogPlanned(_logger, input.Id, plan.Requests.Count, plan.ImageCount, plan.Batches.Count);
            return new JobPlanSummary(JobPlanSummary.Planned, plan.Requests.Count, plan.ImageCount, plan.Batches.Count, 0);
        }
        catch (RequestFailedException e) when (TransientErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientFailureException($"Planning job {input.Id} failed transiently: {e.Message}", e);
        }
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Job {Id}: {Requests} requests, {Images} images in {Batches} batches")]
    private static partial void LogPlanned(ILogger logger, string id, int requests, int images, int batches);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Job {Id} ({Blob}) rejected with {Problems} problems")]
    private static partial void LogRejected(ILogger logger, string id, string blob, int problems);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Job {Id} ({Blob}) was replaced or deleted before it ran; the newer upload has its own run")]
    private static partial void LogSuperseded(ILogger logger, string id, string blob);
}
