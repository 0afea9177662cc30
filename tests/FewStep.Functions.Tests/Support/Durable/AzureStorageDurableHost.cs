using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FewStep.Functions.Tests.Support.Durable;

/// <summary>
/// Runs orchestrator and activity code written against Microsoft.DurableTask on the engine the Functions host uses:
/// DurableTask.Core's <see cref="TaskHubWorker"/> over DurableTask.AzureStorage (real queues with visibility timeouts
/// and lock renewal, real partition leases, history and instance tables), against Azurite or any storage account.
/// The in-process test host runs the same code on an in-memory backend that has none of that.
/// </summary>
/// <remarks>
/// Each test should use its own task hub (<see cref="NewTaskHubName"/>): queues and tables are per hub, and a hub
/// left behind by another test would hand this one its leftover messages.
/// </remarks>
public sealed class AzureStorageDurableHost : IAsyncDisposable
{
    private static int s_workerCount;

    private readonly TaskHubWorker? _worker;
    private readonly CrashableOrchestrationService? _crashable;
    private readonly SemaphoreSlim _stopGate = new(1, 1);
    private bool _running;
    private bool _disposed;

    private AzureStorageDurableHost(
        string taskHubName, AzureStorageOrchestrationService service, TaskHubWorker? worker, CrashableOrchestrationService? crashable)
    {
        TaskHubName = taskHubName;
        Service = service;
        _worker = worker;
        _crashable = crashable;
        _running = worker is not null;
        Client = new ShimDurableTaskClient(service, taskHubName);
    }

    /// <summary>The task hub this host's worker and client use.</summary>
    public string TaskHubName { get; }

    /// <summary>The engine's storage backend (also the client's), for tests that need to look below the client.</summary>
    public AzureStorageOrchestrationService Service { get; }

    /// <summary>A <see cref="DurableTaskClient"/> (<see cref="ShimDurableTaskClient"/>) on this task hub.</summary>
    public DurableTaskClient Client { get; }

    /// <summary>
    /// The crash switch of this host's worker, or null unless started with
    /// <see cref="AzureStorageDurableHostOptions.EnableSimulatedCrash"/>: its counters tell when the last activity lock
    /// expires.
    /// </summary>
    public CrashableOrchestrationService? CrashSwitch => _crashable;

    /// <summary>
    /// Creates the task hub if needed and, unless <paramref name="register"/> is null (a client-only host), starts a
    /// worker running what it registers.
    /// </summary>
    /// <param name="connectionString">A storage connection string (Azurite's, with explicit endpoints, in tests).</param>
    /// <param name="taskHubName">3–45 letters and digits, starting with a letter (<see cref="NewTaskHubName"/>).</param>
    /// <param name="register">Registers orchestrators and activities; null for a host with a client and no worker.</param>
    /// <param name="options">Engine settings; <see cref="AzureStorageDurableHostOptions"/>'s defaults when null.</param>
    public static async Task<AzureStorageDurableHost> StartAsync(
        string connectionString, string taskHubName, Action<ITaskRegistrar>? register, AzureStorageDurableHostOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ArgumentException.ThrowIfNullOrEmpty(taskHubName);
        options ??= new AzureStorageDurableHostOptions();
        var loggerFactory = new WarningLoggerFactory(options.LoggerFactory ?? NullLoggerFactory.Instance);
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = taskHubName,
            StorageAccountClientProvider = new StorageAccountClientProvider(connectionString),
            WorkItemQueueVisibilityTimeout = options.WorkItemQueueVisibilityTimeout,
            ControlQueueVisibilityTimeout = options.ControlQueueVisibilityTimeout,
            MaxQueuePollingInterval = options.MaxQueuePollingInterval,
            PartitionCount = options.PartitionCount,
            MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivities,
            MaxConcurrentTaskOrchestrationWorkItems = options.MaxConcurrentOrchestrations,
            // The Functions host sets this too; without it a dedupe refusal returns silently instead of throwing.
            ThrowExceptionOnInvalidDedupeStatus = true,
            // Several hosts may share a hub in one process (a crashed worker and its replacement): the partition
            // table tells owners apart by worker id, which defaults to the machine name.
            WorkerId = $"{Environment.MachineName}-{Environment.ProcessId}-{Interlocked.Increment(ref s_workerCount)}",
            LoggerFactory = loggerFactory,
        };
        var service = new AzureStorageOrchestrationService(settings);
        TaskHubWorker? worker = null;
        try
        {
            await service.CreateIfNotExistsAsync();
            if (register is null)
            {
                return new AzureStorageDurableHost(taskHubName, service, worker: null, crashable: null);
            }

            var registrar = new ShimRegistrar(new DurableTaskShimFactory(new DurableTaskWorkerOptions(), loggerFactory));
            register(registrar);
            var crashable = options.EnableSimulatedCrash ? new CrashableOrchestrationService(service) : null;
            worker = new TaskHubWorker((IOrchestrationService?)crashable ?? service, loggerFactory)
            {
                // What the isolated worker's failures carry through the Functions host: the exception's type, message
                // and stack as FailureDetails. Without it TaskFailedException.FailureDetails says "(unknown)" and
                // IsCausedBy<T>() is false.
                ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
            };
            worker.AddTaskOrchestrations([.. registrar.Orchestrations]);
            worker.AddTaskActivities([.. registrar.Activities]);
            await worker.StartAsync();
            return new AzureStorageDurableHost(taskHubName, service, worker, crashable);
        }
        catch
        {
            worker?.Dispose();
            service.Dispose();
            throw;
        }
    }

    /// <summary>A task hub name no other test uses: a letter and 32 hex digits (33 characters).</summary>
    public static string NewTaskHubName() => "t" + Guid.NewGuid().ToString("N");

    /// <summary>
    /// Stops the worker (nothing to do for a client-only host or one already stopped). Graceful waits up to about
    /// 8 s for work items in flight; forced does not (their activities may still finish and report in the background).
    /// Either way the worker's leases are released, so another host on the hub can take over at once.
    /// </summary>
    public async Task StopAsync(bool graceful)
    {
        await _stopGate.WaitAsync();
        try
        {
            if (_running && _worker is not null)
            {
                _running = false;
                await _worker.StopAsync(isForced: !graceful);
            }
        }
        finally
        {
            _stopGate.Release();
        }
    }

    /// <summary>
    /// Simulates the worker's process dying: work items in flight stop renewing their locks and never complete
    /// (see <see cref="CrashableOrchestrationService"/>), then the worker is stopped without waiting. Code already
    /// running (an activity) keeps running in this process, but whatever it returns is lost, as it would be.
    /// Needs <see cref="AzureStorageDurableHostOptions.EnableSimulatedCrash"/>.
    /// </summary>
    public async Task SimulateCrashAsync()
    {
        var crashable = _crashable ?? throw new InvalidOperationException(
            $"Start the host with {nameof(AzureStorageDurableHostOptions)}.{nameof(AzureStorageDurableHostOptions.EnableSimulatedCrash)} = true to crash it.");
        crashable.Crash();
        await StopAsync(graceful: false);
    }

    /// <summary>Stops the worker without waiting for work in flight (tests make many hubs; each must go fast).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await StopAsync(graceful: false);
        }
        finally
        {
            _worker?.Dispose();
            Service.Dispose();
            await Client.DisposeAsync();
            _stopGate.Dispose();
        }
    }
}
