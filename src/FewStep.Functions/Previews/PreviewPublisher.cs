using FewStep.Functions.Contracts;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Previews;

/// <summary>
/// Takes a batch's previews from the denoising thread and writes them to the run's preview blob in the background,
/// latest wins: <see cref="Report"/> never waits for storage, and a preview made while one is being written replaces
/// any still waiting. A failed write is logged and forgotten: a preview never fails or slows a batch.
/// </summary>
public sealed partial class PreviewPublisher : IProgress<RenderPreview>
{
    private readonly IImageStore _store;
    private readonly string _runId;
    private readonly RenderItem _first;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationToken _cancellationToken;
    private readonly Lock _gate = new();
    private RenderPreview? _waiting;
    private Task _writing = Task.CompletedTask;
    private bool _running;

    public PreviewPublisher(IImageStore store, string runId, RenderItem first, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        _store = store;
        _runId = runId;
        _first = first;
        _time = time;
        _logger = logger;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Previews written.</summary>
    public int Written { get; private set; }

    public void Report(RenderPreview value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_gate)
        {
            _waiting = value;
            if (!_running)
            {
                _running = true;
                _writing = Task.Run(WriteLoopAsync, CancellationToken.None);
            }
        }
    }

    /// <summary>Waits for the writes in flight (the batch's last preview lands before its images are counted).</summary>
    public Task DrainAsync()
    {
        lock (_gate)
        {
            return _writing;
        }
    }

    private async Task WriteLoopAsync()
    {
        while (true)
        {
            RenderPreview next;
            lock (_gate)
            {
                if (_waiting is null)
                {
                    _running = false;
                    return;
                }

                next = _waiting;
                _waiting = null;
            }

            try
            {
                var preview = new GenerationPreview(next.Step, next.Steps, _first.PromptIndex, _first.ImageIndex, next.Width, next.Height, next.Method,
                    FewStep.Onnx.Previews.PreviewImage.DataUrl(next.Png), _time.GetUtcNow());
                await PreviewStore.WriteAsync(_store, _runId, preview, _cancellationToken).ConfigureAwait(false);
                Written++;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                if (!_cancellationToken.IsCancellationRequested)
                {
                    LogWriteFailed(_logger, e, _runId);
                }
            }
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Run {Id}: a preview could not be written; the batch goes on")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string id);
}
