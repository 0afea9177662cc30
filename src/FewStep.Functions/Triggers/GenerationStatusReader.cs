using FewStep.Functions.Contracts;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Storage;
using Microsoft.DurableTask.Client;

namespace FewStep.Functions.Triggers;

/// <summary>Builds a generation's status from its orchestration instance and the images in storage.</summary>
public sealed class GenerationStatusReader
{
    private readonly IImageStore _store;

    public GenerationStatusReader(IImageStore store) => _store = store;

    public static string StatusName(OrchestrationRuntimeStatus status) => status switch
    {
        OrchestrationRuntimeStatus.Pending => "pending",
        OrchestrationRuntimeStatus.Completed => "succeeded",
        OrchestrationRuntimeStatus.Failed => "failed",
        OrchestrationRuntimeStatus.Terminated => "canceled",
        OrchestrationRuntimeStatus.Suspended => "suspended",
        _ => "running",
    };

    public static bool IsTerminal(OrchestrationRuntimeStatus status) => status is OrchestrationRuntimeStatus.Completed
        or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated;

    /// <summary>The status of a generation; <paramref name="instance"/> must come with its inputs and outputs.</summary>
    public async Task<GenerationStatus> ReadAsync(OrchestrationMetadata instance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var input = instance.ReadInputAs<GenerationInput>();
        var total = input?.Spec.ImageCount ?? 0;
        var images = input is null ? [] : await ImageLinks.ListAsync(_store, input.BlobPrefix, cancellationToken).ConfigureAwait(false);
        var progress = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed
            ? new GenerationProgress(instance.ReadOutputAs<GenerationOutput>()?.Images ?? images.Count, total)
            : instance.ReadCustomStatusAs<GenerationProgress>() ?? new GenerationProgress(0, total);
        return new GenerationStatus
        {
            Id = instance.InstanceId,
            Status = StatusName(instance.RuntimeStatus),
            CreatedAt = instance.CreatedAt,
            CompletedAt = IsTerminal(instance.RuntimeStatus) ? instance.LastUpdatedAt : null,
            Model = input?.Spec.Model,
            Seed = input?.Spec.Seed,
            Progress = progress,
            Images = images,
            Error = instance.FailureDetails is { } failure ? GenerationErrors.From(failure) : null,
        };
    }
}
