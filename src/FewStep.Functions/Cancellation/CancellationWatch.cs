namespace FewStep.Functions.Cancellation;

/// <summary>One batch's view of its run's cancellation: <see cref="Token"/> fires on a cancel or on the caller's own token.</summary>
public sealed class CancellationWatch : IDisposable
{
    private readonly CancellationToken _run;
    private readonly CancellationTokenSource _linked;
    private readonly Action _release;
    private bool _disposed;

    internal CancellationWatch(Action release, CancellationToken run, CancellationToken caller)
    {
        _run = run;
        _linked = CancellationTokenSource.CreateLinkedTokenSource(run, caller);
        _release = release;
    }

    public CancellationToken Token => _linked.Token;

    /// <summary>The run was canceled (as opposed to the caller's token, e.g. the host shutting down).</summary>
    public bool RunCanceled => _run.IsCancellationRequested;

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _linked.Dispose();
            _release();
        }
    }
}
