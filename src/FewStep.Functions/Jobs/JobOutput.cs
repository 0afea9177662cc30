namespace FewStep.Functions.Jobs;

/// <summary>
/// A job run's outcome: <c>succeeded</c>, <c>partially_failed</c>, <c>failed</c> (every request failed),
/// <c>rejected</c> (the file was malformed; see its error.json) or <c>superseded</c>.
/// </summary>
public sealed record JobOutput(string Status, int Requests, int FailedRequests, int Images, DateTimeOffset CompletedAt);
