using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Tests.Support.Durable;

/// <summary>
/// Settings of <see cref="AzureStorageDurableHost"/>: the engine knobs that change what a test can observe. The
/// defaults are the Functions host's, except the queue polling interval, which is short so tests do not wait for
/// the engine's back-off (30 s by default).
/// </summary>
public sealed record AzureStorageDurableHostOptions
{
    /// <summary>
    /// How long a dequeued activity message stays invisible; the activity dispatcher renews it every 5 s while the
    /// activity runs (engine default 5 minutes). A worker that dies without completing leaves the message to
    /// reappear after this long.
    /// </summary>
    public TimeSpan WorkItemQueueVisibilityTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The same for orchestration (control-queue) messages (engine default 5 minutes).</summary>
    public TimeSpan ControlQueueVisibilityTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest an idle queue poller sleeps between polls (engine default 30 s).</summary>
    public TimeSpan MaxQueuePollingInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Control-queue partitions (engine default 4). Fixed when the task hub is first created.</summary>
    public int PartitionCount { get; init; } = 4;

    /// <summary>Activities run at once by this worker (engine default 10).</summary>
    public int MaxConcurrentActivities { get; init; } = 10;

    /// <summary>Orchestration work items processed at once by this worker (engine default 100).</summary>
    public int MaxConcurrentOrchestrations { get; init; } = 100;

    /// <summary>Where the engine's warnings and errors go (below Warning is always dropped); nowhere when null.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Puts the worker on a <see cref="CrashableOrchestrationService"/> so that
    /// <see cref="AzureStorageDurableHost.SimulateCrashAsync"/> works. Off by default: then the worker runs on the
    /// <c>AzureStorageOrchestrationService</c> itself, exactly as the Functions host does.
    /// </summary>
    public bool EnableSimulatedCrash { get; init; }
}
