using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace FewStep.Functions.Orchestration;

/// <summary>Starting an orchestration under an id that names its work (an idempotency key, a job upload) exactly once.</summary>
internal static class OrchestrationStarts
{
    // Every status but the obsolete Canceled: an id once used is never started again.
    private static readonly OrchestrationRuntimeStatus[] s_allStatuses =
    [
        OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended,
        OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated,
    ];

    /// <summary>
    /// Starts <paramref name="orchestrator"/> as instance <paramref name="id"/>. Returns null when this call started it,
    /// or the instance (with its input) when a concurrent start of the same id won the race.
    /// </summary>
    public static async Task<OrchestrationMetadata?> StartOnceAsync(
        DurableTaskClient client, TaskName orchestrator, object input, string id, CancellationToken cancellationToken)
    {
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                orchestrator, input, new StartOrchestrationOptions { InstanceId = id }.WithDedupeStatuses(s_allStatuses), cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (InvalidOperationException)
        {
            // The dedupe statuses refused the start: another start of the same id got there first.
            var existing = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                throw;
            }

            return existing;
        }
    }
}
