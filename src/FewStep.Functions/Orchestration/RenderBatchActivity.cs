using System.Diagnostics;
using FewStep.Functions.Cancellation;
using FewStep.Functions.Plans;
using FewStep.Functions.Previews;
using FewStep.Functions.Queueing;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// Renders one batch of a run and uploads its PNGs under fixed names (a retry overwrites, never duplicates);
/// returns a count, never bytes. It waits for this worker's GPU in the fair gate, checks the run's cancel marker
/// once it has the GPU and keeps watching it while rendering, so a canceled run's batch never starts and a
/// running one stops at its next step. Transient failures surface as <see cref="TransientFailureException"/> for
/// the durable retry policy; anything else (a user's mistake) fails the batch as it is.
/// </summary>
public sealed partial class RenderBatchActivity
{
    public const string Name = "RenderBatch";

    private readonly IImageRenderer _renderer;
    private readonly RunStores _stores;
    private readonly RunPlanStore _plans;
    private readonly RunCancellation _cancellation;
    private readonly FairRenderGate _gpu;
    private readonly TimeProvider _time;
    private readonly ILogger<RenderBatchActivity> _logger;

    public RenderBatchActivity(
        IImageRenderer renderer,
        RunStores stores,
        RunPlanStore plans,
        RunCancellation cancellation,
        FairRenderGate gpu,
        TimeProvider time,
        ILogger<RenderBatchActivity> logger)
    {
        _renderer = renderer;
        _stores = stores;
        _plans = plans;
        _cancellation = cancellation;
        _gpu = gpu;
        _time = time;
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
        var run = input.Run;
        var store = _stores.For(run.Kind);
        var stored = 0;
        var renderMs = 0.0;
        using var watch = _cancellation.Watch(run.Id, cancellationToken);
        try
        {
            var plan = await _plans.GetAsync(run, watch.Token).ConfigureAwait(false);
            var job = plan.RenderJob(input.BatchIndex);
            var images = plan.Batch(input.BatchIndex);
            using (await _gpu.AcquireAsync(run.Id, watch.Token).ConfigureAwait(false))
            {
                // Checked with the GPU in hand: a batch that starts after the DELETE wrote its marker sees it.
                if (await _cancellation.IsRequestedAsync(run.Id, watch.Token).ConfigureAwait(false))
                {
                    LogSkipped(_logger, run.Id, input.BatchIndex);
                    return new RenderBatchResult(0, 0, Canceled: true);
                }

                var start = Stopwatch.GetTimestamp();
                var previews = new PreviewPublisher(store, run.Id, job.Items[0], _time, _logger, watch.Token);
                IReadOnlyList<RenderedImage> rendered;
                try
                {
                    rendered = await _renderer.RenderAsync(job, previews, watch.Token).ConfigureAwait(false);
                }
                finally
                {
                    await previews.DrainAsync().ConfigureAwait(false);
                }

                renderMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                for (var k = 0; k < rendered.Count; k++)
                {
                    watch.Token.ThrowIfCancellationRequested();
                    await store.UploadPngAsync(plan.BlobName(images[k]), rendered[k].Png, plan.Metadata(images[k]), watch.Token).ConfigureAwait(false);
                    stored++;
                }
            }

            LogRendered(_logger, run.Id, input.BatchIndex, stored, renderMs);
            return new RenderBatchResult(stored, renderMs);
        }
        catch (OperationCanceledException) when (watch.RunCanceled && !cancellationToken.IsCancellationRequested)
        {
            LogStopped(_logger, run.Id, input.BatchIndex, stored);
            return new RenderBatchResult(stored, renderMs, Canceled: true);
        }
        catch (Exception e) when (TransientErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            LogTransient(_logger, e, run.Id, input.BatchIndex);
            throw new TransientFailureException($"Batch {input.BatchIndex} of {run.Id} failed transiently: {e.Message}", e);
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Run {Id} batch {Batch}: rendered and stored {Images} images ({RenderMs} ms rendering)")]
    private static partial void LogRendered(ILogger logger, string id, int batch, int images, double renderMs);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Run {Id} batch {Batch}: transient failure, the batch will be retried")]
    private static partial void LogTransient(ILogger logger, Exception exception, string id, int batch);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Run {Id} batch {Batch}: canceled before it started")]
    private static partial void LogSkipped(ILogger logger, string id, int batch);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Run {Id} batch {Batch}: canceled while rendering, {Images} images stored")]
    private static partial void LogStopped(ILogger logger, string id, int batch, int images);
}
