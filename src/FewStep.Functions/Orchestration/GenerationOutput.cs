namespace FewStep.Functions.Orchestration;

/// <summary>The orchestration output: totals only; the images are listed from storage.</summary>
public sealed record GenerationOutput(int Images, int Batches, double RenderMilliseconds, DateTimeOffset CompletedAt);
