using FewStep.Functions.Orchestration;

namespace FewStep.Functions.Jobs;

/// <summary>A sub-orchestration's range of a large job's batches.</summary>
public sealed record JobChunkInput(string JobId, string ResultsPrefix, int FirstBatch, int BatchCount, RetrySettings RenderRetry);
