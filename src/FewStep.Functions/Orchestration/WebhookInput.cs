using FewStep.Functions.Contracts;

namespace FewStep.Functions.Orchestration;

/// <summary>The final status to POST to a caller's webhook.</summary>
public sealed record WebhookInput(
    RunRef Run,
    string Url,
    string Status,
    GenerationError? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset CompletedAt,
    int Total,
    int Completed,
    string? Model,
    long? Seed);
