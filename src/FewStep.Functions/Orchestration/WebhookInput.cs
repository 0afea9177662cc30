using FewStep.Functions.Contracts;

namespace FewStep.Functions.Orchestration;

/// <summary>The final status to POST to a caller's webhook.</summary>
public sealed record WebhookInput(
    string Id,
    string Url,
    string BlobPrefix,
    string Status,
    GenerationError? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset CompletedAt,
    int Total,
    int Completed,
    string Model,
    long Seed);
