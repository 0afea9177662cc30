using FewStep.Functions.Contracts;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// The orchestration input: the validated request and every setting the orchestrator needs, fixed when the
/// generation starts (an orchestrator reads no configuration, so replays stay deterministic).
/// </summary>
/// <param name="Id">The generation id (the orchestration instance id).</param>
/// <param name="BlobPrefix">Where its images and manifest go, e.g. <c>generations/{id}</c>.</param>
public sealed record GenerationInput(
    string Id,
    GenerationSpec Spec,
    string BlobPrefix,
    int BatchSize,
    int SubOrchestrationThreshold,
    int BatchesPerSubOrchestration,
    RetrySettings RenderRetry,
    RetrySettings WebhookRetry,
    DateTimeOffset CreatedAt);
