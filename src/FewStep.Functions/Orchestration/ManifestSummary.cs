namespace FewStep.Functions.Orchestration;

/// <summary>The outcome the manifest recorded, counted per request.</summary>
public sealed record ManifestSummary(string Status, int Requests, int FailedRequests, int Images, int ImagesExpected);
