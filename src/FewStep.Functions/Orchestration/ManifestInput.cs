namespace FewStep.Functions.Orchestration;

/// <summary>What the manifest writer needs beyond the plan and the stored images.</summary>
public sealed record ManifestInput(
    RunRef Run,
    IReadOnlyList<BatchFailure> Failures,
    bool Canceled,
    DateTimeOffset CreatedAt,
    DateTimeOffset CompletedAt,
    int Batches,
    double RenderMilliseconds);
