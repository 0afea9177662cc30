using System.Collections.Concurrent;
using FewStep.Functions.Options;
using FewStep.Functions.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Cancellation;

/// <summary>
/// Canceling a run: <c>DELETE</c> writes a marker blob (<c>.fewstep/canceled/{id}</c> in the images container)
/// that every batch of the run checks before it starts and, while it waits for the GPU or renders, polls every
/// <see cref="FewStepOptions.CancelPollInterval"/>; the pipeline then stops at its next step. A marker rather than
/// a durable terminate: terminating never reached activities already queued, did not stop sub-orchestrations, and
/// left no manifest; with the marker the orchestration sees the canceled batches come back, stops feeding, and
/// ends <c>canceled</c> with a manifest of what was made. A DELETE handled by this same process also signals its
/// batches at once.
/// </summary>
public sealed partial class RunCancellation : IDisposable
{
    private static readonly TimeSpan s_rememberLocal = TimeSpan.FromHours(1);

    private readonly IImageStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger<RunCancellation> _logger;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _requestedHere = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Poller> _pollers = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _disposed = new();

    public RunCancellation(RunStores stores, IOptions<FewStepOptions> options, TimeProvider time, ILogger<RunCancellation> logger)
    {
        ArgumentNullException.ThrowIfNull(stores);
        ArgumentNullException.ThrowIfNull(options);
        _store = stores.Images;
        _time = time;
        _pollInterval = options.Value.CancelPollInterval;
        _logger = logger;
    }

    public static string MarkerName(string runId) => $".fewstep/canceled/{runId}";

    /// <summary>Records the cancel (idempotent) and signals this process's batches of the run.</summary>
    public async Task RequestAsync(string runId, CancellationToken cancellationToken)
    {
        await _store.WriteJsonAsync(MarkerName(runId), BinaryData.FromObjectAsJson(new { id = runId, requested_at = _time.GetUtcNow() }), cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        _requestedHere[runId] = now;
        foreach (var old in _requestedHere.Where(e => now - e.Value > s_rememberLocal).Select(e => e.Key).ToList())
        {
            _requestedHere.TryRemove(old, out _);
        }

        lock (_gate)
        {
            if (_pollers.TryGetValue(runId, out var poller))
            {
                poller.Signal();
            }
        }
    }

    /// <summary>Whether a cancel of the run was requested (here or through any other instance).</summary>
    public async Task<bool> IsRequestedAsync(string runId, CancellationToken cancellationToken) =>
        _requestedHere.ContainsKey(runId) || await _store.ExistsAsync(MarkerName(runId), cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// A token canceled when the run is canceled (or <paramref name="cancellationToken"/> is). One poller per run
    /// and process serves all its batches here; it stops when the last watch is disposed.
    /// </summary>
    public CancellationWatch Watch(string runId, CancellationToken cancellationToken)
    {
        Poller poller;
        lock (_gate)
        {
            if (!_pollers.TryGetValue(runId, out poller!))
            {
                poller = new Poller(this, runId);
                _pollers[runId] = poller;
                poller.Start();
            }

            poller.Watchers++;
        }

        if (_requestedHere.ContainsKey(runId))
        {
            poller.Signal();
        }

        return new CancellationWatch(() => Release(poller), poller.Token, cancellationToken);
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
    }

    private void Release(Poller poller)
    {
        lock (_gate)
        {
            if (--poller.Watchers == 0)
            {
                _pollers.Remove(poller.RunId);
                poller.Dispose();
            }
        }
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Run {Id}: cancel requested; its batches stop")]
    private static partial void LogCanceled(ILogger logger, string id);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Debug, Message = "Run {Id}: could not look for the cancel marker; trying again")]
    private static partial void LogPollFailed(ILogger logger, Exception exception, string id);

    /// <summary>Looks for one run's marker until it is found or nobody watches any more.</summary>
    private sealed class Poller : IDisposable
    {
        private readonly RunCancellation _owner;
        private readonly CancellationTokenSource _canceled = new();
        private readonly CancellationTokenSource _stop;

        public Poller(RunCancellation owner, string runId)
        {
            _owner = owner;
            RunId = runId;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(owner._disposed.Token);
        }

        public string RunId { get; }

        public int Watchers { get; set; }

        public CancellationToken Token => _canceled.Token;

        public void Start() => _ = Task.Run(LoopAsync);

        public void Signal()
        {
            try
            {
                _canceled.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Stopped meanwhile: nobody is watching.
            }
        }

        /// <summary>Stops the loop; called once nobody watches (so nobody reads <see cref="Token"/> any more).</summary>
        public void Dispose()
        {
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The loop already ended (it found the marker).
            }

            _canceled.Dispose();
        }

        private async Task LoopAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested && !_canceled.IsCancellationRequested)
                {
                    try
                    {
                        if (await _owner._store.ExistsAsync(MarkerName(RunId), _stop.Token).ConfigureAwait(false))
                        {
                            LogCanceled(_owner._logger, RunId);
                            Signal();
                            break;
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        LogPollFailed(_owner._logger, e, RunId);
                    }

                    await Task.Delay(_owner._pollInterval, _owner._time, _stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            finally
            {
                _stop.Dispose();
            }
        }
    }
}
