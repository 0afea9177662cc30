using FewStep.Functions.Contracts;
using FewStep.Functions.Orchestration;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Jobs;

/// <summary>
/// One job run: plan (validate the file, or reject it), render every batch (through sub-orchestrations when
/// there are many; a failed batch fails only its requests), write the manifest. Progress is the custom status.
/// </summary>
public static partial class RunJobOrchestrator
{
    public const string Name = "RunJob";

    [Function(Name)]
    public static Task<JobOutput> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(context, context.GetInput<JobInput>() ?? throw new InvalidOperationException($"{Name} needs an input."));
    }

    public static async Task<JobOutput> RunAsync(TaskOrchestrationContext context, JobInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger(Name);
        var retry = input.RenderRetry.ToTaskOptions();
        var summary = await context.CallActivityAsync<JobPlanSummary>(PlanJobActivity.Name, input, retry).ConfigureAwait(true);
        if (summary.Outcome != JobPlanSummary.Planned)
        {
            context.SetCustomStatus(new GenerationProgress(0, 0));
            LogEnded(logger, input.Id, summary.Outcome);
            return new JobOutput(summary.Outcome, summary.Requests, 0, 0, context.CurrentUtcDateTime);
        }

        var total = summary.Images;
        var completed = 0;
        context.SetCustomStatus(new GenerationProgress(0, total));
        void Progress(int images)
        {
            completed += images;
            context.SetCustomStatus(new GenerationProgress(completed, total));
        }

        var failures = new List<JobBatchFailure>();
        var renderMilliseconds = 0.0;
        if (summary.Batches <= input.SubOrchestrationThreshold)
        {
            var result = await JobBatches.RunAsync(context, input.Id, input.ResultsPrefix, 0, summary.Batches, input.RenderRetry, Progress).ConfigureAwait(true);
            failures.AddRange(result.Failures);
            renderMilliseconds = result.RenderMilliseconds;
        }
        else
        {
            var size = input.BatchesPerSubOrchestration;
            var chunks = Enumerable.Range(0, (summary.Batches + size - 1) / size).Select(c => context.CallSubOrchestratorAsync<JobChunkResult>(
                JobChunkOrchestrator.Name,
                new JobChunkInput(input.Id, input.ResultsPrefix, c * size, Math.Min(size, summary.Batches - (c * size)), input.RenderRetry),
                new SubOrchestrationOptions { InstanceId = $"{context.InstanceId}-chunk-{c}" }));
            await FanOut.WhenEach(chunks, result =>
            {
                failures.AddRange(result.Failures);
                renderMilliseconds += result.RenderMilliseconds;
                Progress(result.Images);
            }).ConfigureAwait(true);
        }

        var manifest = await context.CallActivityAsync<JobManifestSummary>(
            WriteJobManifestActivity.Name,
            new JobManifestInput(input.Id, input.ResultsPrefix, failures.OrderBy(f => f.BatchIndex).ToList(), input.CreatedAt, context.CurrentUtcDateTime, renderMilliseconds),
            retry).ConfigureAwait(true);
        var status = manifest.FailedRequests == 0 ? "succeeded" : manifest.FailedRequests == manifest.Requests ? "failed" : "partially_failed";
        LogEnded(logger, input.Id, status);
        return new JobOutput(status, manifest.Requests, manifest.FailedRequests, manifest.Images, context.CurrentUtcDateTime);
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Job {Id} ended: {Status}")]
    private static partial void LogEnded(ILogger logger, string id, string status);
}
