using DurableTask.Core;

namespace FewStep.Functions.Tests.Support.Durable;

/// <summary>
/// Passes a worker's calls through to the real orchestration service until <see cref="Crash"/>; from then on the
/// worker's work items in flight are cut off from storage, as if its process had died: their lock renewals fail
/// (which ends <c>TaskActivityDispatcher</c>'s renewal loop), and their completions, abandons and releases never reach
/// the queue. No new work items are handed out. What the storage then does with the messages (they reappear after the
/// visibility timeout, for any other worker) is the real queue's behaviour, not a simulation.
/// </summary>
/// <remarks>
/// Start and stop still pass through, so a host stopped after a crash releases its app and partition leases as a
/// graceful stop would; a real crash leaves them to expire (30 s for partitions, 60 s for the app lease), which an
/// in-process test cannot reproduce honestly. Entity dispatch is not offered (this wrapper does not implement
/// <c>IEntityOrchestrationService</c>).
/// </remarks>
public sealed class CrashableOrchestrationService(IOrchestrationService inner) : IOrchestrationService
{
    private readonly IOrchestrationService _inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly Lock _gate = new();
    private DateTime _lastActivityLockUntilUtc;
    private int _activityRenewals;
    private volatile bool _crashed;

    /// <summary>Whether <see cref="Crash"/> was called.</summary>
    public bool Crashed => _crashed;

    /// <summary>How many activity lock renewals reached storage before the crash.</summary>
    public int ActivityRenewals => Volatile.Read(ref _activityRenewals);

    /// <summary>
    /// The latest time (UTC) until which an activity message was locked by a lock or renewal that reached storage:
    /// after a crash, the message becomes visible again then.
    /// </summary>
    public DateTime LastActivityLockUntilUtc
    {
        get
        {
            lock (_gate)
            {
                return _lastActivityLockUntilUtc;
            }
        }
    }

    public int TaskOrchestrationDispatcherCount => _inner.TaskOrchestrationDispatcherCount;

    public int MaxConcurrentTaskOrchestrationWorkItems => _inner.MaxConcurrentTaskOrchestrationWorkItems;

    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => _inner.EventBehaviourForContinueAsNew;

    public int TaskActivityDispatcherCount => _inner.TaskActivityDispatcherCount;

    public int MaxConcurrentTaskActivityWorkItems => _inner.MaxConcurrentTaskActivityWorkItems;

    /// <summary>From now on, nothing of this worker's work in flight reaches storage.</summary>
    public void Crash() => _crashed = true;

    public Task StartAsync() => _inner.StartAsync();

    public Task StopAsync() => _inner.StopAsync();

    public Task StopAsync(bool isForced) => _inner.StopAsync(isForced);

    public Task CreateAsync() => _inner.CreateAsync();

    public Task CreateAsync(bool recreateInstanceStore) => _inner.CreateAsync(recreateInstanceStore);

    public Task CreateIfNotExistsAsync() => _inner.CreateIfNotExistsAsync();

    public Task DeleteAsync() => _inner.DeleteAsync();

    public Task DeleteAsync(bool deleteInstanceStore) => _inner.DeleteAsync(deleteInstanceStore);

    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) =>
        _inner.IsMaxMessageCountExceeded(currentMessageCount, runtimeState);

    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => _inner.GetDelayInSecondsAfterOnProcessException(exception);

    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => _inner.GetDelayInSecondsAfterOnFetchException(exception);

    public async Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        if (_crashed)
        {
            return await NothingAsync<TaskOrchestrationWorkItem>(cancellationToken);
        }

        return await _inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken);
    }

    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem) =>
        _crashed ? Task.FromException(Dead()) : _inner.RenewTaskOrchestrationWorkItemLockAsync(workItem);

    public Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem, OrchestrationRuntimeState newOrchestrationRuntimeState, IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages, IList<TaskMessage> timerMessages, TaskMessage continuedAsNewMessage, OrchestrationState orchestrationState) =>
        _crashed
            ? Task.CompletedTask
            : _inner.CompleteTaskOrchestrationWorkItemAsync(
                workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);

    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) =>
        _crashed ? Task.CompletedTask : _inner.AbandonTaskOrchestrationWorkItemAsync(workItem);

    public Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) =>
        _crashed ? Task.CompletedTask : _inner.ReleaseTaskOrchestrationWorkItemAsync(workItem);

    public async Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        if (_crashed)
        {
            return await NothingAsync<TaskActivityWorkItem>(cancellationToken);
        }

        var workItem = await _inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken);
        if (workItem is not null)
        {
            RecordLock(workItem.LockedUntilUtc);
        }

        return workItem!;
    }

    public async Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        if (_crashed)
        {
            throw Dead();
        }

        var renewed = await _inner.RenewTaskActivityWorkItemLockAsync(workItem);
        Interlocked.Increment(ref _activityRenewals);
        RecordLock(renewed.LockedUntilUtc);
        return renewed;
    }

    public Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage) =>
        _crashed ? Task.CompletedTask : _inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage);

    public Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem) =>
        _crashed ? Task.CompletedTask : _inner.AbandonTaskActivityWorkItemAsync(workItem);

    private static InvalidOperationException Dead() => new("The worker has (simulated) crashed: nothing reaches storage any more.");

    // A dead worker hands out nothing; a short wait keeps a dispatcher that is still polling from spinning.
    private static async Task<T> NothingAsync<T>(CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        return null!;
    }

    private void RecordLock(DateTime lockedUntilUtc)
    {
        lock (_gate)
        {
            if (lockedUntilUtc > _lastActivityLockUntilUtc)
            {
                _lastActivityLockUntilUtc = lockedUntilUtc;
            }
        }
    }
}
