using FewStep.Functions.Contracts;

namespace FewStep.Functions.Jobs;

/// <summary>A batch that failed after its retries: its requests fail with this error, the others go on.</summary>
public sealed record JobBatchFailure(int BatchIndex, GenerationError Error);
