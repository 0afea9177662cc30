namespace FewStep.Functions.Orchestration;

/// <summary>A sub-orchestration's share of a large generation.</summary>
public sealed record RenderChunkInput(IReadOnlyList<RenderBatchInput> Batches, RetrySettings RenderRetry);
