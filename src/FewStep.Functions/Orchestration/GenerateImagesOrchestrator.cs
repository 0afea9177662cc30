using System.Runtime.ExceptionServices;
using FewStep.Functions.Contracts;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// One generation: expand to images and batches, fan the batches out (through sub-orchestrations when there are
/// many), report progress as custom status, write the manifest, call the webhook. Deterministic: everything it
/// decides comes from its input and its activities' results.
/// </summary>
public static partial class GenerateImagesOrchestrator
{
    public const string Name = "GenerateImages";

    [Function(Name)]
    public static Task<GenerationOutput> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(context, context.GetInput<GenerationInput>() ?? throw new InvalidOperationException($"{Name} needs an input."));
    }

    public static async Task<GenerationOutput> RunAsync(TaskOrchestrationContext context, GenerationInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger(Name);
        var batches = GenerationPlan.Batches(input);
        var total = input.Spec.ImageCount;
        var completed = 0;
        var renderMilliseconds = 0.0;
        context.SetCustomStatus(new GenerationProgress(0, total));
        LogStarted(logger, input.Id, total, batches.Count, input.Spec.Model);

        ExceptionDispatchInfo? failure = null;
        GenerationError? error = null;
        try
        {
            var renderOptions = input.RenderRetry.ToTaskOptions();
            if (batches.Count <= input.SubOrchestrationThreshold)
            {
                await FanOut.WhenEach(
                    batches.Select(batch => context.CallActivityAsync<RenderBatchResult>(RenderBatchActivity.Name, batch, renderOptions)),
                    result => Progress(result.Blobs.Count, result.RenderMilliseconds)).ConfigureAwait(true);
            }
            else
            {
                var chunks = batches.Chunk(input.BatchesPerSubOrchestration).Select((chunk, i) => context.CallSubOrchestratorAsync<RenderChunkResult>(
                    RenderChunkOrchestrator.Name,
                    new RenderChunkInput(chunk, input.RenderRetry),
                    new SubOrchestrationOptions { InstanceId = $"{context.InstanceId}-chunk-{i}" }));
                await FanOut.WhenEach(chunks, result => Progress(result.Images, result.RenderMilliseconds)).ConfigureAwait(true);
            }
        }
        catch (TaskFailedException e)
        {
            failure = ExceptionDispatchInfo.Capture(e);
            error = GenerationErrors.From(e.FailureDetails);
            LogFailed(logger, input.Id, error.Code, error.Message);
        }

        var completedAt = context.CurrentUtcDateTime;
        var status = error is null ? "succeeded" : "failed";
        await context.CallActivityAsync(
            WriteManifestActivity.Name,
            new ManifestInput(input.Id, input.BlobPrefix, input.Spec, status, error, input.CreatedAt, completedAt, batches.Count, renderMilliseconds),
            input.RenderRetry.ToTaskOptions()).ConfigureAwait(true);

        if (input.Spec.WebhookUrl is { } webhook)
        {
            try
            {
                await context.CallActivityAsync(
                    NotifyWebhookActivity.Name,
                    new WebhookInput(input.Id, webhook, input.BlobPrefix, status, error, input.CreatedAt, completedAt, total, completed, input.Spec.Model, input.Spec.Seed),
                    input.WebhookRetry.ToTaskOptions()).ConfigureAwait(true);
            }
            catch (TaskFailedException e)
            {
                // A webhook that cannot be reached never fails the generation.
                LogWebhookFailed(logger, input.Id, e.FailureDetails.ErrorMessage);
            }
        }

        failure?.Throw();
        LogCompleted(logger, input.Id, completed, renderMilliseconds);
        return new GenerationOutput(completed, batches.Count, renderMilliseconds, completedAt);

        void Progress(int images, double milliseconds)
        {
            completed += images;
            renderMilliseconds += milliseconds;
            context.SetCustomStatus(new GenerationProgress(completed, total));
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Generation {Id}: {Images} images in {Batches} batches of model {Model}")]
    private static partial void LogStarted(ILogger logger, string id, int images, int batches, string model);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Generation {Id} completed: {Images} images, {RenderMs} ms rendering")]
    private static partial void LogCompleted(ILogger logger, string id, int images, double renderMs);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Generation {Id} failed ({Code}): {Message}")]
    private static partial void LogFailed(ILogger logger, string id, string code, string message);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Generation {Id}: the webhook failed after its retries: {Message}")]
    private static partial void LogWebhookFailed(ILogger logger, string id, string message);
}
