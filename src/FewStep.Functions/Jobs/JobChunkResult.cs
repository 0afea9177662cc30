namespace FewStep.Functions.Jobs;

/// <summary>Images made and batches failed in one range of batches.</summary>
public sealed record JobChunkResult(int Images, double RenderMilliseconds, IReadOnlyList<JobBatchFailure> Failures);
