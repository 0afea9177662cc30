using FewStep.Functions.Contracts;
using FewStep.Functions.Jobs;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Storage;
using Microsoft.DurableTask.Client;

namespace FewStep.Functions.Triggers;

/// <summary>Builds a generation's (or a job's) status from its orchestration instance and the images in storage.</summary>
public sealed class GenerationStatusReader
{
    private readonly IImageStore _images;
    private readonly IImageStore _results;

    /// <param name="images">Where generations' images are.</param>
    /// <param name="results">Where jobs' images are.</param>
    public GenerationStatusReader(IImageStore images, IImageStore results)
    {
        _images = images;
        _results = results;
    }

    /// <summary>For a store that holds both (tests).</summary>
    public GenerationStatusReader(IImageStore store)
        : this(store, store)
    {
    }

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

    /// <summary>The status of a generation or job; <paramref name="instance"/> must come with its inputs and outputs.</summary>
    public Task<GenerationStatus> ReadAsync(OrchestrationMetadata instance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return instance.Name == RunJobOrchestrator.Name ? ReadJobAsync(instance, cancellationToken) : ReadGenerationAsync(instance, cancellationToken);
    }

    private async Task<GenerationStatus> ReadGenerationAsync(OrchestrationMetadata instance, CancellationToken cancellationToken)
    {
        var input = instance.ReadInputAs<GenerationInput>();
        var total = input?.Spec.ImageCount ?? 0;
        var images = input is null ? [] : await ImageLinks.ListAsync(_images, input.BlobPrefix, cancellationToken).ConfigureAwait(false);
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

    // A job's status: its outcome (succeeded, partially_failed, failed, rejected, superseded) once it ended.
    private async Task<GenerationStatus> ReadJobAsync(OrchestrationMetadata instance, CancellationToken cancellationToken)
    {
        var input = instance.ReadInputAs<JobInput>();
        var output = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? instance.ReadOutputAs<JobOutput>() : null;
        var images = input is null ? [] : await ImageLinks.ListAsync(_results, input.ResultsPrefix, cancellationToken).ConfigureAwait(false);
        var progress = instance.ReadCustomStatusAs<GenerationProgress>() ?? new GenerationProgress(images.Count, 0);
        var error = instance.FailureDetails is { } failure ? GenerationErrors.From(failure)
            : output?.Status == JobPlanSummary.Rejected && input is not null
                ? new GenerationError("rejected", $"The job file is malformed: every problem is listed in {PlanJobActivity.ErrorBlobName(input.ResultsPrefix)} of the results container.")
                : output is { FailedRequests: > 0 } ? new GenerationError(GenerationErrors.RenderFailed,
                    $"{output.FailedRequests} of {output.Requests} requests failed; each one's reason is in {(input is null ? "the" : WriteJobManifestActivity.BlobName(input.ResultsPrefix))} manifest.")
                : null;
        return new GenerationStatus
        {
            Id = instance.InstanceId,
            Status = output?.Status ?? StatusName(instance.RuntimeStatus),
            CreatedAt = instance.CreatedAt,
            CompletedAt = IsTerminal(instance.RuntimeStatus) ? instance.LastUpdatedAt : null,
            Progress = progress,
            Images = images,
            Error = error,
        };
    }
}
