using FewStep.Functions.Contracts;
using FewStep.Functions.Jobs;
using FewStep.Functions.Manifests;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// One run — a posted generation or an uploaded job, the same stack for both:
/// <list type="number">
/// <item>plan: a job's file is validated and planned by an activity (or rejected); a generation's plan follows from its request;</item>
/// <item>render: feed the batches into the GPU queue <see cref="RunSettings.RenderWindow"/> at a time, the next as one
/// finishes, so a large run never crowds out others; progress goes to the custom status as images land;</item>
/// <item>stop feeding when a batch reports the run canceled, or (for a generation) when a batch failed;</item>
/// <item>after <see cref="RunSettings.BatchesPerExecution"/> batches, continue as new, keeping the history small;</item>
/// <item>finish: the manifest, the webhook, and the outcome as this orchestration's output.</item>
/// </list>
/// Deterministic: everything it decides comes from its input and its activities' results.
/// </summary>
public static partial class RunOrchestrator
{
    public const string Name = "RenderRun";

    [Function(Name)]
    public static Task<RunOutput?> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(context, context.GetInput<RunInput>() ?? throw new InvalidOperationException($"{Name} needs an input."));
    }

    /// <summary>The run, or null when this execution continued as new.</summary>
    public static async Task<RunOutput?> RunAsync(TaskOrchestrationContext context, RunInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger(typeof(RunOrchestrator));
        var retry = input.Settings.Retry.ToTaskOptions();
        var cursor = input.Cursor;
        if (cursor is null)
        {
            if (input.Kind == RunKind.Job)
            {
                PlanSummary plan;
                try
                {
                    plan = await context.CallActivityAsync<PlanSummary>(PlanJobActivity.Name, input, retry).ConfigureAwait(true);
                }
                catch (TaskFailedException e)
                {
                    var error = RunErrors.From(e.FailureDetails);
                    LogEnded(logger, input.Id, RunStatuses.Failed, error.Message);
                    return new RunOutput(RunStatuses.Failed, error, 0, 0, 0, 0, context.CurrentUtcDateTime);
                }

                if (plan.Outcome != PlanSummary.Planned)
                {
                    context.SetCustomStatus(new GenerationProgress(0, 0));
                    var error = plan.Outcome == RunStatuses.Rejected
                        ? new GenerationError(RunErrors.Rejected, $"The job file is malformed: every problem is listed in {PlanJobActivity.ErrorBlobName(input.Prefix)} of the results container.")
                        : null;
                    LogEnded(logger, input.Id, plan.Outcome, error?.Message ?? string.Empty);
                    return new RunOutput(plan.Outcome, error, plan.Requests, 0, 0, 0, context.CurrentUtcDateTime);
                }

                cursor = RunCursor.Start(plan.Requests, plan.Images, plan.Batches);
            }
            else
            {
                cursor = RunCursor.Start(1, input.ImageCount, Plans.RunPlan.BatchCount(input.ImageCount, input.Settings.BatchSize));
            }

            LogStarted(logger, input.Id, input.Kind, cursor.Images, cursor.Batches);
        }

        context.SetCustomStatus(new GenerationProgress(cursor.ImagesDone, cursor.Images));
        await RenderAsync(context, input, cursor, logger).ConfigureAwait(true);
        if (!Stopped(input, cursor) && cursor.NextBatch < cursor.Batches)
        {
            cursor.Execution++;
            context.ContinueAsNew(input with { Cursor = cursor });
            return null;
        }

        return await FinishAsync(context, input, cursor, logger).ConfigureAwait(true);
    }

    // One execution's share: keep the window full until this execution's batches are all scheduled, then drain
    // (no activity may be left outstanding across a continue-as-new).
    private static async Task RenderAsync(TaskOrchestrationContext context, RunInput input, RunCursor cursor, ILogger logger)
    {
        var options = input.Settings.Retry.ToTaskOptions();
        var inFlight = new Dictionary<Task<RenderBatchResult>, int>();
        var scheduled = 0;
        bool CanSchedule() => !Stopped(input, cursor) && cursor.NextBatch < cursor.Batches && scheduled < input.Settings.BatchesPerExecution;

        // Bounded: at most BatchesPerExecution batches are scheduled per execution, then the caller continues as new.
        while (inFlight.Count > 0 || CanSchedule())
        {
            while (inFlight.Count < input.Settings.RenderWindow && CanSchedule())
            {
                var index = cursor.NextBatch++;
                scheduled++;
                inFlight.Add(context.CallActivityAsync<RenderBatchResult>(RenderBatchActivity.Name, new RenderBatchInput(input.Ref, index), options), index);
            }

            var done = await Task.WhenAny(inFlight.Keys).ConfigureAwait(true);
            var batch = inFlight[done];
            inFlight.Remove(done);
            try
            {
                var result = await done.ConfigureAwait(true);
                cursor.ImagesDone += result.Images;
                cursor.RenderMilliseconds += result.RenderMilliseconds;
                if (result.Canceled && !cursor.Canceled)
                {
                    cursor.Canceled = true;
                    LogCanceled(logger, input.Id, batch);
                }
            }
            catch (TaskFailedException e)
            {
                var error = RunErrors.From(e.FailureDetails);
                cursor.Failures.Add(new BatchFailure(batch, error));
                LogBatchFailed(logger, input.Id, batch, error.Code, error.Message);
            }

            context.SetCustomStatus(new GenerationProgress(cursor.ImagesDone, cursor.Images));
        }
    }

    // Nothing more is scheduled once the run is canceled, or once a generation (one request) has a failed batch:
    // its outcome is decided. A job goes on: a failed batch fails only its own requests.
    private static bool Stopped(RunInput input, RunCursor cursor) =>
        cursor.Canceled || (input.Kind == RunKind.Generation && cursor.Failures.Count > 0);

    private static async Task<RunOutput> FinishAsync(TaskOrchestrationContext context, RunInput input, RunCursor cursor, ILogger logger)
    {
        var completedAt = context.CurrentUtcDateTime;
        ManifestSummary? manifest = null;
        try
        {
            manifest = await context.CallActivityAsync<ManifestSummary>(
                WriteManifestActivity.Name,
                new ManifestInput(input.Ref, cursor.Failures, cursor.Canceled, input.CreatedAt, completedAt, cursor.Batches, cursor.RenderMilliseconds),
                input.Settings.Retry.ToTaskOptions()).ConfigureAwait(true);
        }
        catch (TaskFailedException e)
        {
            LogManifestFailed(logger, input.Id, e.FailureDetails.ErrorMessage);
        }

        // Without a manifest the outcome still follows from the batches (counted per batch, not per request).
        var requests = manifest?.Requests ?? cursor.Requests;
        var failedRequests = manifest?.FailedRequests ?? (cursor.Failures.Count == 0 ? 0 : input.Kind == RunKind.Generation || cursor.Failures.Count >= cursor.Batches ? requests : 1);
        var status = cursor.Canceled ? RunStatuses.Canceled : manifest?.Status ?? RunStatuses.FromRequests(requests, failedRequests);
        var error = status is RunStatuses.Succeeded or RunStatuses.Canceled ? null
            : input.Kind == RunKind.Generation ? cursor.Failures.FirstOrDefault()?.Error ?? new GenerationError(RunErrors.RenderFailed, "Not every image could be made; see the manifest.")
            : new GenerationError(RunErrors.RenderFailed, $"{failedRequests} of {requests} requests failed; each one's reason is in {WriteManifestActivity.BlobName(input.Prefix)} of the results container.");
        var images = manifest?.Images ?? cursor.ImagesDone;
        if (input.WebhookUrl is { } webhook)
        {
            try
            {
                await context.CallActivityAsync(
                    NotifyWebhookActivity.Name,
                    new WebhookInput(input.Ref, webhook, status, error, input.CreatedAt, completedAt, cursor.Images, images, input.Model, input.Seed),
                    input.Settings.WebhookRetry.ToTaskOptions()).ConfigureAwait(true);
            }
            catch (TaskFailedException e)
            {
                // A webhook that cannot be reached never fails the generation.
                LogWebhookFailed(logger, input.Id, e.FailureDetails.ErrorMessage);
            }
        }

        LogEnded(logger, input.Id, status, error?.Message ?? string.Empty);
        return new RunOutput(status, error, requests, failedRequests, images, cursor.Images, completedAt);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Run {Id} ({Kind}): {Images} images in {Batches} batches")]
    private static partial void LogStarted(ILogger logger, string id, RunKind kind, int images, int batches);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Run {Id} ended {Status} {Message}")]
    private static partial void LogEnded(ILogger logger, string id, string status, string message);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Run {Id}: batch {Batch} failed ({Code}): {Message}")]
    private static partial void LogBatchFailed(ILogger logger, string id, int batch, string code, string message);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Run {Id}: the webhook failed after its retries: {Message}")]
    private static partial void LogWebhookFailed(ILogger logger, string id, string message);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Run {Id}: canceled (seen by batch {Batch}); nothing more is scheduled")]
    private static partial void LogCanceled(ILogger logger, string id, int batch);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Run {Id}: the manifest could not be written: {Message}")]
    private static partial void LogManifestFailed(ILogger logger, string id, string message);
}
