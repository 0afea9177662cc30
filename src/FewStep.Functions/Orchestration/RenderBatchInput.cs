namespace FewStep.Functions.Orchestration;

/// <summary>One render activity's work: batch <paramref name="BatchIndex"/> of the run's plan.</summary>
public sealed record RenderBatchInput(RunRef Run, int BatchIndex);
