using System.Diagnostics;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// Renders one batch and uploads its PNGs under fixed names (a retry overwrites, never duplicates); returns the
/// blob names only. Transient failures surface as <see cref="TransientFailureException"/> for the durable retry
/// policy; anything else (a user's mistake) fails the batch as it is.
/// </summary>
public sealed partial class RenderBatchActivity
{
    public const string Name = "RenderBatch";

    private readonly IImageRenderer _renderer;
    private readonly IImageStore _store;
    private readonly ILogger<RenderBatchActivity> _logger;

    public RenderBatchActivity(IImageRenderer renderer, IImageStore store, ILogger<RenderBatchActivity> logger)
    {
        _renderer = renderer;
        _store = store;
        _logger = logger;
    }

    [Function(Name)]
    public Task<RenderBatchResult> Run([ActivityTrigger] RenderBatchInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(input, context.CancellationToken);
    }

    public async Task<RenderBatchResult> RunAsync(RenderBatchInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var job = input.Job;
        var start = Stopwatch.GetTimestamp();
        try
        {
            var images = await _renderer.RenderAsync(job, cancellationToken).ConfigureAwait(false);
            var renderMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            var blobs = new List<string>(images.Count);
            foreach (var image in images)
            {
                var item = image.Item;
                var blob = RenderBatchInput.BlobName(input.BlobPrefix, item.PromptIndex, item.ImageIndex);
                var metadata = ImageMetadata.For(item.PromptIndex, item.ImageIndex, item.Seed, job.Model, job.NumInferenceSteps, job.GuidanceScale, job.Width, job.Height);
                await _store.UploadPngAsync(blob, image.Png, metadata, cancellationToken).ConfigureAwait(false);
                blobs.Add(blob);
            }

            LogRendered(_logger, input.GenerationId, blobs.Count, renderMs);
            return new RenderBatchResult(blobs, renderMs);
        }
        catch (Exception e) when (TransientErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            LogTransient(_logger, e, input.GenerationId);
            throw new TransientFailureException($"Batch of generation {input.GenerationId} failed transiently: {e.Message}", e);
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Generation {Id}: rendered and stored {Images} images ({RenderMs} ms rendering)")]
    private static partial void LogRendered(ILogger logger, string id, int images, double renderMs);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Generation {Id}: transient failure, the batch will be retried")]
    private static partial void LogTransient(ILogger logger, Exception exception, string id);
}
