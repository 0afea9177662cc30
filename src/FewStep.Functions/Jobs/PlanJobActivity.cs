using FewStep.Functions.Orchestration;
using FewStep.Functions.Plans;
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
    private readonly RunPlanStore _plans;
    private readonly TimeProvider _time;
    private readonly ILogger<PlanJobActivity> _logger;

    public PlanJobActivity(JobStorage storage, JobFileParser parser, RunPlanStore plans, TimeProvider time, ILogger<PlanJobActivity> logger)
    {
        _storage = storage;
        _parser = parser;
        _plans = plans;
        _time = time;
        _logger = logger;
    }

    public static string ErrorBlobName(string resultsPrefix) => $"{resultsPrefix}/error.json";

    public static string MarkerBlobName(string resultsPrefix) => $"{resultsPrefix}/job.json";

    [Function(Name)]
    public Task<PlanSummary> Run([ActivityTrigger] RunInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(input, context.CancellationToken);
    }

    public async Task<PlanSummary> RunAsync(RunInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var blobName = input.JobBlobName ?? throw new ArgumentException($"Run {input.Id} is not a job.", nameof(input));
        var etag = input.JobETag ?? throw new ArgumentException($"Run {input.Id} has no ETag.", nameof(input));
        try
        {
            var file = await _storage.ReadJobAsync(blobName, etag, cancellationToken).ConfigureAwait(false);
            if (file.Gone)
            {
                LogSuperseded(_logger, input.Id, blobName);
                return new PlanSummary(RunStatuses.Superseded, 0, 0, 0, 0);
            }

            var parsed = file.Content is null
                ? new ParsedJob([], [new JobProblem(null, "file", $"is {file.Length} bytes; a job file may be at most {_storage.MaxJobBytes} bytes.")])
                : _parser.Parse(blobName, file.Content.ToMemory().Span, line => JobIds.SeedFor(input.Id, line));
            await _storage.ClearResultsAsync(input.Prefix, cancellationToken).ConfigureAwait(false);
            var source = $"{JobIds.JobsContainer}/{blobName}";
            if (!parsed.IsValid)
            {
                await _storage.WriteJsonAsync(ErrorBlobName(input.Prefix), new JobRejection(
                    input.Id, source, etag, RunStatuses.Rejected, $"{_storage.Rejected.Name}/{blobName}", _time.GetUtcNow(), parsed.Problems), cancellationToken).ConfigureAwait(false);
                await _storage.MoveToRejectedAsync(blobName, etag, input.Id, cancellationToken).ConfigureAwait(false);
                LogRejected(_logger, input.Id, blobName, parsed.Problems.Count);
                return new PlanSummary(RunStatuses.Rejected, 0, 0, 0, parsed.Problems.Count);
            }

            var plan = RunPlan.Create(input.Id, RunKind.Job, source, etag, parsed.Requests, input.Settings.BatchSize);
            await _plans.WriteJobPlanAsync(input.Prefix, plan, cancellationToken).ConfigureAwait(false);
            await _storage.WriteJsonAsync(MarkerBlobName(input.Prefix), new JobMarker(input.Id, source, etag, RunStatuses.Running, plan.Requests.Count, plan.ImageCount), cancellationToken).ConfigureAwait(false);
            LogPlanned(_logger, input.Id, plan.Requests.Count, plan.ImageCount, plan.Batches.Count);
            return new PlanSummary(PlanSummary.Planned, plan.Requests.Count, plan.ImageCount, plan.Batches.Count, 0);
        }
        catch (Exception e) when (TransientErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested)
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
