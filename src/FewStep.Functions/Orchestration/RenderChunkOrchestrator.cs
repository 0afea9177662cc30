using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// Renders a share of a large generation's batches, so no single orchestration history grows with the request
/// (10,000 images in batches of 4 are 40 sub-orchestrations of 64 batches, not 2,500 activities in one history).
/// </summary>
public static class RenderChunkOrchestrator
{
    public const string Name = "RenderChunk";

    [Function(Name)]
    public static Task<RenderChunkResult> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(context, context.GetInput<RenderChunkInput>() ?? throw new InvalidOperationException($"{Name} needs an input."));
    }

    public static async Task<RenderChunkResult> RunAsync(TaskOrchestrationContext context, RenderChunkInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var options = input.RenderRetry.ToTaskOptions();
        var images = 0;
        var milliseconds = 0.0;
        await FanOut.WhenEach(
            input.Batches.Select(batch => context.CallActivityAsync<RenderBatchResult>(RenderBatchActivity.Name, batch, options)),
            result =>
            {
                images += result.Blobs.Count;
                milliseconds += result.RenderMilliseconds;
            }).ConfigureAwait(true);
        return new RenderChunkResult(images, milliseconds);
    }
}
