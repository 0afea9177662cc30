using FewStep.Functions.Cancellation;
using FewStep.Functions.Contracts;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Previews;
using FewStep.Functions.Storage;
using Microsoft.DurableTask.Client;

namespace FewStep.Functions.Triggers;

/// <summary>
/// A run's status as the API shows it, from the app's own state only: the orchestration's input, custom status
/// and output (never its failure details, which the Functions host's client returns empty), the cancel marker,
/// and the images in storage — counted as they land, so progress never lags the image list.
/// </summary>
public sealed class RunStatusReader
{
    private readonly RunStores _stores;
    private readonly RunCancellation _cancellation;

    public RunStatusReader(RunStores stores, RunCancellation cancellation)
    {
        _stores = stores;
        _cancellation = cancellation;
    }

    public static bool IsTerminal(OrchestrationRuntimeStatus status) => status is OrchestrationRuntimeStatus.Completed
        or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated;

    /// <summary>The status of a run; <paramref name="instance"/> must come with its inputs and outputs.</summary>
    public async Task<GenerationStatus> ReadAsync(OrchestrationMetadata instance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var input = instance.ReadInputAs<RunInput>() ?? throw new InvalidOperationException($"Run {instance.InstanceId} has no input.");
        var images = await ImageLinks.ListAsync(_stores.For(input.Kind), input.Prefix, cancellationToken).ConfigureAwait(false);
        var output = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? instance.ReadOutputAs<RunOutput>() : null;
        var running = !IsTerminal(instance.RuntimeStatus);
        var status = instance.RuntimeStatus switch
        {
            OrchestrationRuntimeStatus.Completed => output?.Status ?? RunStatuses.Succeeded,
            OrchestrationRuntimeStatus.Failed => RunStatuses.Failed,
            OrchestrationRuntimeStatus.Terminated => RunStatuses.Canceled,
            _ when await _cancellation.IsRequestedAsync(instance.InstanceId, cancellationToken).ConfigureAwait(false) => RunStatuses.Canceling,
            OrchestrationRuntimeStatus.Pending => RunStatuses.Pending,
            _ => RunStatuses.Running,
        };
        var preview = running ? await PreviewStore.ReadAsync(_stores.For(input.Kind), instance.InstanceId, cancellationToken).ConfigureAwait(false) : null;
        var total = output?.ImagesExpected ?? instance.ReadCustomStatusAs<GenerationProgress>()?.Total ?? input.ImageCount;
        return new GenerationStatus
        {
            Id = instance.InstanceId,
            Status = status,
            CreatedAt = input.CreatedAt,
            CompletedAt = running ? null : output?.CompletedAt ?? instance.LastUpdatedAt,
            Model = input.Model,
            Seed = input.Seed,
            Progress = new GenerationProgress(output?.Images ?? images.Count, total),
            Images = images,
            Preview = preview,
            Error = output?.Error ?? (instance.RuntimeStatus == OrchestrationRuntimeStatus.Failed
                ? new GenerationError(RunErrors.Internal, $"The service failed while running {instance.InstanceId}; its logs have the details.")
                : null),
        };
    }
}
