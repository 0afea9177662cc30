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
        var blobs = job.Items.Select(item => RenderBatchInput.BlobName(input.BlobPrefix, item.PromptIndex, item.ImageIndex)).ToList();
        try
        {
            var result = await BatchRendering.RenderAndStoreAsync(_renderer, _store, job, blobs, k => BatchRendering.Metadata(job, job.Items[k]),
                $"generation {input.GenerationId}", cancellationToken).ConfigureAwait(false);
            LogRendered(_logger, input.GenerationId, result.Blobs.Count, result.RenderMilliseconds);
            return result;
        }
        catch (TransientFailureException e)
        {
            LogTransient(_logger, e, input.GenerationId);
            throw;
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Generation {Id}: rendered and stored {Images} images ({RenderMs} ms rendering)")]
    private static partial void LogRendered(ILogger logger, string id, int images, double renderMs);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Generation {Id}: transient failure, the batch will be retried")]
    private static partial void LogTransient(ILogger logger, Exception exception, string id);
}
