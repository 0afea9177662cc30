using FewStep.Functions.Orchestration;

namespace FewStep.Functions.Jobs;

/// <summary>
/// A job run's orchestration input: which upload (blob name and ETag) and the settings fixed at its start.
/// Small on purpose: the requests are read from the blob by activities, never passed through durable history.
/// </summary>
/// <param name="ResultsPrefix">Folder of the results container for this job's images, manifest and reports.</param>
public sealed record JobInput(
    string Id,
    string BlobName,
    string ETag,
    string ResultsPrefix,
    int BatchSize,
    int SubOrchestrationThreshold,
    int BatchesPerSubOrchestration,
    RetrySettings RenderRetry,
    DateTimeOffset CreatedAt);
