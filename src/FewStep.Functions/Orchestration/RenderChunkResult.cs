namespace FewStep.Functions.Orchestration;

/// <summary>A sub-orchestration's totals (its blob names stay out of the parent's history).</summary>
public sealed record RenderChunkResult(int Images, double RenderMilliseconds);
