namespace FewStep.Functions.Orchestration;

/// <summary>What a batch returns through durable history: blob names and a time, never image bytes.</summary>
public sealed record RenderBatchResult(IReadOnlyList<string> Blobs, double RenderMilliseconds);
