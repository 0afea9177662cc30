namespace FewStep.Functions.Jobs;

/// <summary>What the job manifest activity needs beyond the plan and the stored images.</summary>
public sealed record JobManifestInput(
    string JobId,
    string ResultsPrefix,
    IReadOnlyList<JobBatchFailure> Failures,
    DateTimeOffset CreatedAt,
    DateTimeOffset CompletedAt,
    double RenderMilliseconds);
