using FewStep.Functions.Contracts;

namespace FewStep.Functions.Orchestration;

/// <summary>A batch that failed after its retries: the requests with images in it fail with this error.</summary>
public sealed record BatchFailure(int BatchIndex, GenerationError Error);
