namespace FewStep.Functions.Jobs;

/// <summary>One batch of a job: the plan names its images.</summary>
public sealed record JobBatchInput(string JobId, string ResultsPrefix, int BatchIndex);
