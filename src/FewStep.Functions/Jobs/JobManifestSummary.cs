namespace FewStep.Functions.Jobs;

/// <summary>Request outcomes the manifest counted.</summary>
public sealed record JobManifestSummary(int Requests, int FailedRequests, int Images);
