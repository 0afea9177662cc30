using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace FewStep.Functions.Jobs;

/// <summary>A range of a large job's batches, so no orchestration history grows with the job.</summary>
public static class JobChunkOrchestrator
{
    public const string Name = "RenderJobChunk";

    [Function(Name)]
    public static Task<JobChunkResult> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(context, context.GetInput<JobChunkInput>() ?? throw new InvalidOperationException($"{Name} needs an input."));
    }

    public static Task<JobChunkResult> RunAsync(TaskOrchestrationContext context, JobChunkInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        return JobBatches.RunAsync(context, input.JobId, input.ResultsPrefix, input.FirstBatch, input.BatchCount, input.RenderRetry);
    }
}
