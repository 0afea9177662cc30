using FewStep.Functions.Contracts;

namespace FewStep.Functions.Orchestration;

/// <summary>What the manifest activity records; the image list it reads from storage itself.</summary>
public sealed record ManifestInput(
    string Id,
    string BlobPrefix,
    GenerationSpec Spec,
    string Status,
    GenerationError? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset CompletedAt,
    int Batches,
    double RenderMilliseconds);
