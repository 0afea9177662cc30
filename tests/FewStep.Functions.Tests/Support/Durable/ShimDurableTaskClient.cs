using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using Grpc.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Entities;
using Microsoft.DurableTask.Converters;
using Core = DurableTask.Core;
using CoreQuery = DurableTask.Core.Query;

namespace FewStep.Functions.Tests.Support.Durable;

/// <summary>
/// A Microsoft.DurableTask <see cref="DurableTaskClient"/> that talks straight to a DurableTask.Core backend
/// (<see cref="IOrchestrationServiceClient"/>, plus the query and purge interfaces where the backend has them), so app
/// code written against <see cref="DurableTaskClient"/> runs unchanged against <see cref="AzureStorageDurableHost"/>.
/// </summary>
/// <remarks>
/// <para>
/// It does what the Functions host's gRPC endpoint (Microsoft.Azure.WebJobs.Extensions.DurableTask 3.x,
/// <c>TaskHubGrpcServer</c>) does with the isolated worker's calls, so behaviour seen here is the host's: inputs,
/// outputs, custom status and failure details only when asked for; a dedupe refusal as
/// <see cref="OrchestrationAlreadyExistsException"/> (what <c>GrpcDurableTaskClient</c> throws for the host's
/// AlreadyExists answer); terminate with only the output (the host ignores <see cref="TerminateInstanceOptions.Recursive"/>).
/// </para>
/// <para>
/// The host also checks the instance's state first (<c>DurableClient</c> with Azure Storage's
/// <c>CheckStatusBeforeRaiseEvent</c>), and so does this client: terminating, suspending, resuming or raising an
/// event on an instance in the wrong state throws the <see cref="RpcException"/> (<see cref="StatusCode.FailedPrecondition"/>)
/// that <c>GrpcDurableTaskClient</c> passes through from the host; an event for an unknown instance is dropped
/// silently; terminate, suspend or resume of an unknown instance fails with <see cref="StatusCode.Unknown"/> (the host
/// trips over the missing state). The checks race with the instance, as the host's do.
/// </para>
/// <para>
/// Payloads are serialized with <see cref="JsonDataConverter.Default"/> unless another converter is given: the
/// default of both the gRPC client and the worker shims, which deserialize what this client writes.
/// </para>
/// <para>Not implemented (throw <see cref="NotSupportedException"/> naming the member): entities, restart, rewind,
/// history, <see cref="ListInstanceIdsAsync"/>.</para>
/// </remarks>
public sealed class ShimDurableTaskClient : DurableTaskClient
{
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(250);

    private readonly IOrchestrationServiceClient _client;
    private readonly CoreQuery.IOrchestrationServiceQueryClient? _queries;
    private readonly IOrchestrationServicePurgeClient? _purges;
    private readonly DataConverter _converter;

    /// <param name="client">The backend, for example an <c>AzureStorageOrchestrationService</c>.</param>
    /// <param name="name">The client's name (<see cref="DurableTaskClient.Name"/>).</param>
    /// <param name="dataConverter">Serializes inputs, outputs and event payloads; <see cref="JsonDataConverter.Default"/> when null.</param>
    public ShimDurableTaskClient(IOrchestrationServiceClient client, string name = "shim", DataConverter? dataConverter = null)
        : base(name)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _queries = client as CoreQuery.IOrchestrationServiceQueryClient;
        _purges = client as IOrchestrationServicePurgeClient;
        _converter = dataConverter ?? JsonDataConverter.Default;
    }

    /// <summary>Always throws: this client does not implement durable entities.</summary>
    public override DurableEntityClient Entities => throw Unsupported(nameof(Entities));

    /// <inheritdoc />
    /// <remarks>
    /// <see cref="StartOrchestrationOptions.DedupeStatuses"/> go to the backend's
    /// <c>CreateTaskOrchestrationAsync(message, dedupeStatuses)</c>; an existing instance in one of them makes it
    /// throw <see cref="OrchestrationAlreadyExistsException"/> (an <see cref="InvalidOperationException"/>). Without
    /// dedupe statuses an existing instance is overwritten by a new execution, as under the Functions host.
    /// <see cref="StartOrchestrationOptions.StartAt"/> becomes the start event's scheduled time (Azure Storage hides
    /// the message until then); tags are kept.
    /// </remarks>
    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(orchestratorName.Name, nameof(orchestratorName));
        cancellation.ThrowIfCancellationRequested();
        var dedupe = options?.DedupeStatuses is { } statuses ? statuses.Select(ParseDedupeStatus).Distinct().ToArray() : null;
        var instance = new OrchestrationInstance
        {
            InstanceId = string.IsNullOrEmpty(options?.InstanceId) ? Guid.NewGuid().ToString("N") : options.InstanceId,
            ExecutionId = Guid.NewGuid().ToString("N"),
        };
        var started = new ExecutionStartedEvent(-1, _converter.Serialize(input))
        {
            Name = orchestratorName.Name,
            Version = options?.Version?.Version ?? string.Empty,
            OrchestrationInstance = instance,
            ScheduledStartTime = options?.StartAt?.UtcDateTime,
            Tags = options?.Tags is { Count: > 0 } tags ? new Dictionary<string, string>(tags) : null,
        };
        await _client.CreateTaskOrchestrationAsync(new TaskMessage { OrchestrationInstance = instance, Event = started }, dedupe!);
        return instance.InstanceId;
    }

    /// <inheritdoc />
    /// <remarks>
    /// As under the Functions host: an event for an unknown instance is dropped without a word; one for an instance
    /// that is not Pending, Running or Suspended throws <see cref="RpcException"/> with
    /// <see cref="StatusCode.FailedPrecondition"/>.
    /// </remarks>
    public override async Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        cancellation.ThrowIfCancellationRequested();
        var state = await GetStateAsync(instanceId);
        if (state is null)
        {
            return;
        }

        if (!IsRunning(state.OrchestrationStatus))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "The orchestration instance with the provided instance id is not running."));
        }

        await SendAsync(instanceId, new EventRaisedEvent(-1, _converter.Serialize(eventPayload)) { Name = eventName });
    }

    /// <inheritdoc />
    /// <remarks>
    /// Sends the engine's terminate message with the serialized <see cref="TerminateInstanceOptions.Output"/> as
    /// the reason, which becomes the instance's output. <see cref="TerminateInstanceOptions.Recursive"/> is ignored,
    /// as the Functions host ignores it: sub-orchestrations keep running. Activities already scheduled still run.
    /// An instance that is not Pending, Running or Suspended (one that just finished, say) is refused with
    /// <see cref="RpcException"/> / <see cref="StatusCode.FailedPrecondition"/>, as by the host.
    /// </remarks>
    public override async Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        var state = await GetStateAsync(instanceId) ?? throw UnknownInstance(nameof(TerminateInstanceAsync), instanceId);
        if (!IsRunning(state.OrchestrationStatus))
        {
            throw FailedPrecondition($"Cannot terminate the orchestration instance {instanceId} because instance is in the {state.OrchestrationStatus} state.");
        }

        await _client.ForceTerminateTaskOrchestrationAsync(instanceId, _converter.Serialize(options?.Output)!);
    }

    /// <inheritdoc />
    /// <remarks>Only a Pending or Running instance can be suspended (else <see cref="StatusCode.FailedPrecondition"/>, as by the host).</remarks>
    public override async Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        var state = await GetStateAsync(instanceId) ?? throw UnknownInstance(nameof(SuspendInstanceAsync), instanceId);
        if (state.OrchestrationStatus is not (OrchestrationStatus.Running or OrchestrationStatus.Pending or OrchestrationStatus.ContinuedAsNew))
        {
            throw FailedPrecondition($"Cannot suspend the orchestration instance {instanceId} because instance is in the {state.OrchestrationStatus} state.");
        }

        await SendAsync(instanceId, new ExecutionSuspendedEvent(-1, reason));
    }

    /// <inheritdoc />
    /// <remarks>Only a Suspended instance can be resumed (else <see cref="StatusCode.FailedPrecondition"/>, as by the host).</remarks>
    public override async Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        var state = await GetStateAsync(instanceId) ?? throw UnknownInstance(nameof(ResumeInstanceAsync), instanceId);
        if (state.OrchestrationStatus != OrchestrationStatus.Suspended)
        {
            throw FailedPrecondition($"Cannot resume the orchestration instance {instanceId} because instance is in the {state.OrchestrationStatus} state.");
        }

        await SendAsync(instanceId, new ExecutionResumedEvent(-1, reason));
    }

    /// <inheritdoc />
    /// <remarks>The latest execution (after continue-as-new, the current one); null when there is no such instance.</remarks>
    public override async Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        var state = await GetStateAsync(instanceId);
        return state is null ? null : ToMetadata(state, getInputsAndOutputs);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Needs a backend with <see cref="CoreQuery.IOrchestrationServiceQueryClient"/> (Azure Storage has it). Statuses,
    /// created-from/to, instance-id prefix, task hub names, page size, continuation token and
    /// <see cref="OrchestrationQuery.FetchInputsAndOutputs"/> are passed on; entities are left out.
    /// </remarks>
    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null)
    {
        var queries = _queries ?? throw new NotSupportedException(
            $"{nameof(ShimDurableTaskClient)}.{nameof(GetAllInstancesAsync)}: {_client.GetType().Name} does not implement {nameof(CoreQuery.IOrchestrationServiceQueryClient)}.");
        return Pageable.Create(async (string? continuation, int? pageSize, CancellationToken cancellation) =>
        {
            var query = new CoreQuery.OrchestrationQuery
            {
                RuntimeStatus = filter?.Statuses?.Select(ToCoreStatus).ToList(),
                CreatedTimeFrom = filter?.CreatedFrom?.UtcDateTime,
                CreatedTimeTo = filter?.CreatedTo?.UtcDateTime,
                TaskHubNames = filter?.TaskHubNames?.ToList(),
                InstanceIdPrefix = filter?.InstanceIdPrefix,
                PageSize = pageSize ?? filter?.PageSize ?? OrchestrationQuery.DefaultPageSize,
                ContinuationToken = continuation ?? filter?.ContinuationToken,
                FetchInputsAndOutputs = filter?.FetchInputsAndOutputs ?? false,
                ExcludeEntities = true,
            };
            var result = await queries.GetOrchestrationWithQueryAsync(query, cancellation);
            var fetch = filter?.FetchInputsAndOutputs ?? false;
            var page = result.OrchestrationState.Where(s => s is not null).Select(s => ToMetadata(s, fetch)).ToList();
            return new Page<OrchestrationMetadata>(page, string.IsNullOrEmpty(result.ContinuationToken) ? null : result.ContinuationToken);
        });
    }

    /// <inheritdoc />
    /// <remarks>Polls every 250 ms until the instance exists and is no longer Pending (an unknown id is waited for, as the host does).</remarks>
    public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        PollAsync(instanceId, getInputsAndOutputs, m => m.RuntimeStatus != OrchestrationRuntimeStatus.Pending, cancellation);

    /// <inheritdoc />
    /// <remarks>Polls every 250 ms until the instance is Completed, Failed or Terminated.</remarks>
    public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        PollAsync(instanceId, getInputsAndOutputs, m => m.IsCompleted, cancellation);

    /// <inheritdoc />
    /// <remarks><see cref="PurgeInstanceOptions.Recursive"/> is ignored: only this instance's state and history go.</remarks>
    public override async Task<Microsoft.DurableTask.Client.PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        var purges = _purges ?? throw Unsupported(nameof(PurgeInstanceAsync));
        var result = await purges.PurgeInstanceStateAsync(instanceId);
        return new Microsoft.DurableTask.Client.PurgeResult(result.DeletedInstanceCount, result.IsComplete);
    }

    /// <inheritdoc />
    public override async Task<Microsoft.DurableTask.Client.PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        cancellation.ThrowIfCancellationRequested();
        var purges = _purges ?? throw Unsupported(nameof(PurgeAllInstancesAsync));
        var coreFilter = new PurgeInstanceFilter(
            filter.CreatedFrom?.UtcDateTime ?? DateTime.MinValue,
            filter.CreatedTo?.UtcDateTime,
            filter.Statuses?.Select(ToCoreStatus).ToList())
        {
            Timeout = filter.Timeout,
        };
        var result = await purges.PurgeInstanceStateAsync(coreFilter);
        return new Microsoft.DurableTask.Client.PurgeResult(result.DeletedInstanceCount, result.IsComplete);
    }

    /// <summary>Always throws: not implemented by this client.</summary>
    public override Task<string> RestartAsync(string instanceId, bool restartWithNewInstanceId = false, CancellationToken cancellation = default) =>
        throw Unsupported(nameof(RestartAsync));

    /// <summary>Always throws: not implemented by this client.</summary>
    public override Task RewindInstanceAsync(string instanceId, string reason, CancellationToken cancellation = default) =>
        throw Unsupported(nameof(RewindInstanceAsync));

    /// <summary>Always throws: not implemented by this client.</summary>
    public override Task<IList<HistoryEvent>> GetOrchestrationHistoryAsync(string instanceId, CancellationToken cancellation = default) =>
        throw Unsupported(nameof(GetOrchestrationHistoryAsync));

    /// <summary>Always throws: not implemented by this client.</summary>
    public override Task<Page<string>> ListInstanceIdsAsync(
        IEnumerable<OrchestrationRuntimeStatus>? runtimeStatus = null, DateTimeOffset? completedTimeFrom = null, DateTimeOffset? completedTimeTo = null,
        int pageSize = 100, string? lastInstanceKey = null, CancellationToken cancellation = default) =>
        throw Unsupported(nameof(ListInstanceIdsAsync));

    /// <summary>Nothing to release: the backend belongs to whoever made it (<see cref="AzureStorageDurableHost"/>).</summary>
    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The Core status for a Microsoft.DurableTask one (named alike, mapped by name so a renumbering cannot slip through).</summary>
    public static OrchestrationStatus ToCoreStatus(OrchestrationRuntimeStatus status) => status switch
    {
        OrchestrationRuntimeStatus.Running => OrchestrationStatus.Running,
        OrchestrationRuntimeStatus.Completed => OrchestrationStatus.Completed,
#pragma warning disable CS0618 // Obsolete statuses still exist in both enums and must map.
        OrchestrationRuntimeStatus.ContinuedAsNew => OrchestrationStatus.ContinuedAsNew,
        OrchestrationRuntimeStatus.Canceled => OrchestrationStatus.Canceled,
#pragma warning restore CS0618
        OrchestrationRuntimeStatus.Failed => OrchestrationStatus.Failed,
        OrchestrationRuntimeStatus.Terminated => OrchestrationStatus.Terminated,
        OrchestrationRuntimeStatus.Pending => OrchestrationStatus.Pending,
        OrchestrationRuntimeStatus.Suspended => OrchestrationStatus.Suspended,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown orchestration runtime status."),
    };

    /// <summary>The Microsoft.DurableTask status for a Core one.</summary>
    public static OrchestrationRuntimeStatus FromCoreStatus(OrchestrationStatus status) => status switch
    {
        OrchestrationStatus.Running => OrchestrationRuntimeStatus.Running,
        OrchestrationStatus.Completed => OrchestrationRuntimeStatus.Completed,
#pragma warning disable CS0618
        OrchestrationStatus.ContinuedAsNew => OrchestrationRuntimeStatus.ContinuedAsNew,
        OrchestrationStatus.Canceled => OrchestrationRuntimeStatus.Canceled,
#pragma warning restore CS0618
        OrchestrationStatus.Failed => OrchestrationRuntimeStatus.Failed,
        OrchestrationStatus.Terminated => OrchestrationRuntimeStatus.Terminated,
        OrchestrationStatus.Pending => OrchestrationRuntimeStatus.Pending,
        OrchestrationStatus.Suspended => OrchestrationRuntimeStatus.Suspended,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown orchestration status."),
    };

    private static TaskFailureDetails? ToTaskFailureDetails(FailureDetails? details) => details is null
        ? null
        : new TaskFailureDetails(details.ErrorType, details.ErrorMessage, details.StackTrace, ToTaskFailureDetails(details.InnerFailure), details.Properties);

    // Dedupe statuses arrive as names (WithDedupeStatuses writes OrchestrationRuntimeStatus.ToString()); the gRPC
    // client refuses an unknown one with ArgumentException before sending anything, and so does this.
    private static OrchestrationStatus ParseDedupeStatus(string status) =>
        Enum.TryParse<OrchestrationRuntimeStatus>(status, ignoreCase: true, out var parsed)
            ? ToCoreStatus(parsed)
            : throw new ArgumentException($"Invalid orchestration runtime status: '{status}' for deduplication.", nameof(status));

    private static DateTimeOffset Utc(DateTime time) =>
        time == default ? default : new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    // The host's IsOrchestrationRunning: the states in which terminate and raise-event are accepted.
    private static bool IsRunning(OrchestrationStatus status) =>
        status is OrchestrationStatus.Running or OrchestrationStatus.Pending or OrchestrationStatus.Suspended or OrchestrationStatus.ContinuedAsNew;

    // The host turns its InvalidOperationException into FailedPrecondition, prefixing the exception's type name.
    private static RpcException FailedPrecondition(string message) =>
        new(new Status(StatusCode.FailedPrecondition, "InvalidOperationException: " + message));

    // The host reads the missing state's status and fails with a NullReferenceException, answered as Unknown.
    private static RpcException UnknownInstance(string member, string instanceId) =>
        new(new Status(StatusCode.Unknown, $"{member}: no orchestration instance '{instanceId}' (the Functions host fails this call on the missing state)."));

    private static NotSupportedException Unsupported(string member) =>
        new($"{nameof(ShimDurableTaskClient)}.{member} is not implemented.");

    // What the Functions host's GetInstance answers: name, id, status, times and tags always; input, output, custom
    // status and failure details only when asked for (and then ReadInputAs & co. work through DataConverter).
    private OrchestrationMetadata ToMetadata(Core.OrchestrationState state, bool getInputsAndOutputs) =>
        new(state.Name, state.OrchestrationInstance.InstanceId)
        {
            RuntimeStatus = FromCoreStatus(state.OrchestrationStatus),
            CreatedAt = Utc(state.CreatedTime),
            LastUpdatedAt = Utc(state.LastUpdatedTime),
            SerializedInput = getInputsAndOutputs ? state.Input : null,
            SerializedOutput = getInputsAndOutputs ? state.Output : null,
            SerializedCustomStatus = getInputsAndOutputs ? state.Status : null,
            FailureDetails = getInputsAndOutputs ? ToTaskFailureDetails(state.FailureDetails) : null,
            Tags = state.Tags is null ? new Dictionary<string, string>() : new Dictionary<string, string>(state.Tags),
            DataConverter = getInputsAndOutputs ? _converter : null,
        };

    // The latest execution's state; Azure Storage answers an unknown id with a one-element list holding null.
    private async Task<Core.OrchestrationState?> GetStateAsync(string instanceId)
    {
        var states = await _client.GetOrchestrationStateAsync(instanceId, allExecutions: false);
        return states?.FirstOrDefault(s => s is not null);
    }

    private Task SendAsync(string instanceId, HistoryEvent historyEvent) =>
        _client.SendTaskOrchestrationMessageAsync(new TaskMessage
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId },
            Event = historyEvent,
        });

    private async Task<OrchestrationMetadata> PollAsync(
        string instanceId, bool getInputsAndOutputs, Func<OrchestrationMetadata, bool> done, CancellationToken cancellation)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        while (true)
        {
            var metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation);
            if (metadata is not null && done(metadata))
            {
                return metadata;
            }

            await Task.Delay(s_pollInterval, cancellation);
        }
    }
}
