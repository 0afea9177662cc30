using FewStep.Functions.Orchestration;
using Microsoft.DurableTask;

namespace FewStep.Functions.Jobs;

/// <summary>
/// Fans out a range of a job's batches. Unlike a generation, a failed batch (after its retries) does not stop
/// the job: it is recorded, and only its requests fail.
/// </summary>
internal static class JobBatches
{
    public static async Task<JobChunkResult> RunAsync(
        TaskOrchestrationContext context,
        string jobId,
        string resultsPrefix,
        int firstBatch,
        int count,
        RetrySettings retry,
        Action<int>? onImages = null)
    {
        var options = retry.ToTaskOptions();
        var images = 0;
        var milliseconds = 0.0;
        var failures = new List<JobBatchFailure>();
        await FanOut.WhenEach(
            Enumerable.Range(firstBatch, count).Select(index => Guard(context.CallActivityAsync<RenderBatchResult>(
                RenderJobBatchActivity.Name, new JobBatchInput(jobId, resultsPrefix, index), options), index)),
            outcome =>
            {
                if (outcome.Failure is { } failure)
                {
                    failures.Add(failure);
                    return;
                }

                images += outcome.Result!.Blobs.Count;
                milliseconds += outcome.Result.RenderMilliseconds;
                onImages?.Invoke(outcome.Result.Blobs.Count);
            }).ConfigureAwait(true);
        return new JobChunkResult(images, milliseconds, failures.OrderBy(f => f.BatchIndex).ToList());
    }

    private static async Task<Outcome> Guard(Task<RenderBatchResult> task, int index)
    {
        try
        {
            return new Outcome(await task.ConfigureAwait(true), null);
        }
        catch (TaskFailedException e)
        {
            return new Outcome(null, new JobBatchFailure(index, GenerationErrors.From(e.FailureDetails)));
        }
    }

    private sealed record Outcome(RenderBatchResult? Result, JobBatchFailure? Failure);
}
