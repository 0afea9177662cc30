namespace FewStep.Functions.Orchestration;

/// <summary>What a batch returns through durable history: how many images it stored, never their bytes.</summary>
/// <param name="Canceled">The run was canceled before or while the batch rendered; it stored <paramref name="Images"/> of its images.</param>
public sealed record RenderBatchResult(int Images, double RenderMilliseconds, bool Canceled = false);
