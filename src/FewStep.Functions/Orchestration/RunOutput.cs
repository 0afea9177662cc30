using FewStep.Functions.Contracts;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// How a run ended, in the app's own words: the orchestration always completes with this (a failed request is
/// an outcome, not an orchestration failure), because the Functions host's client returns no failure details.
/// </summary>
/// <param name="Status">One of the terminal <see cref="RunStatuses"/>.</param>
public sealed record RunOutput(
    string Status,
    GenerationError? Error,
    int Requests,
    int FailedRequests,
    int Images,
    int ImagesExpected,
    DateTimeOffset CompletedAt);
