using FewStep.Functions.Contracts;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Queueing;

/// <summary>
/// Backpressure: a new generation is refused (429) when the images accepted but not yet rendered, across the
/// service, would exceed <see cref="FewStepOptions.MaxQueuedImages"/>. The count comes from the durable backend
/// itself — every pending or running run's total minus what it has made (its custom status) — queried at most
/// once per <see cref="FewStepOptions.QueueStatsMaxAge"/> per worker; what this worker admitted since is added,
/// so a burst of POSTs cannot all slip in between two queries. Other instances' admissions within that interval
/// are not seen: the bound is approximate by at most one interval's worth of requests.
/// </summary>
public sealed partial class QueueAdmission : IDisposable
{
    private readonly FewStepOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueAdmission> _logger;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private readonly Lock _gate = new();
    private long _queuedAtSnapshot;
    private long _admittedSinceSnapshot;
    private DateTimeOffset _snapshotAt = DateTimeOffset.MinValue;

    public QueueAdmission(IOptions<FewStepOptions> options, TimeProvider time, ILogger<QueueAdmission> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Admits <paramref name="images"/> more images, or says how many are queued when they do not fit.</summary>
    public async Task<Admission> TryAdmitAsync(DurableTaskClient client, int images, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (_time.GetUtcNow() - _snapshotAt > _options.QueueStatsMaxAge)
        {
            await RefreshAsync(client, cancellationToken).ConfigureAwait(false);
        }

        lock (_gate)
        {
            var queued = _queuedAtSnapshot + _admittedSinceSnapshot;

            // An empty queue takes any valid request, however large (the options guarantee MaxQueuedImages >= MaxImagesPerRequest).
            if (queued > 0 && queued + images > _options.MaxQueuedImages)
            {
                LogRefused(_logger, images, queued, _options.MaxQueuedImages);
                return new Admission(false, queued);
            }

            _admittedSinceSnapshot += images;
            return new Admission(true, queued + images);
        }
    }

    public void Dispose() => _refresh.Dispose();

    private async Task RefreshAsync(DurableTaskClient client, CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another request refreshed while this one waited.
            if (_time.GetUtcNow() - _snapshotAt <= _options.QueueStatsMaxAge)
            {
                return;
            }

            var takenAt = _time.GetUtcNow();
            var query = new OrchestrationQuery
            {
                Statuses = [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended],
                FetchInputsAndOutputs = true,
                PageSize = 500,
            };
            long queued = 0;
            await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (instance.Name != RunOrchestrator.Name)
                {
                    continue;
                }

                queued += Remaining(instance);
            }

            lock (_gate)
            {
                _queuedAtSnapshot = queued;
                _admittedSinceSnapshot = 0;
                _snapshotAt = takenAt;
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    // A run's images not yet made: from its progress once it runs, from its input before (a job counts once planned).
    private static long Remaining(OrchestrationMetadata instance)
    {
        if (instance.ReadCustomStatusAs<GenerationProgress>() is { } progress)
        {
            return Math.Max(0, progress.Total - progress.Completed);
        }

        var input = instance.ReadInputAs<RunInput>();
        return input is null ? 0 : Math.Max(0, input.ImageCount - (input.Cursor?.ImagesDone ?? 0));
    }

    [LoggerMessage(EventId = 5201, Level = LogLevel.Warning, Message = "Refused {Images} images: {Queued} queued, the bound is {Max}")]
    private static partial void LogRefused(ILogger logger, int images, long queued, int max);
}
