namespace FewStep.Functions.Orchestration;

/// <summary>What planning a job found: its size, or that it was rejected (with an error report) or superseded.</summary>
public sealed record PlanSummary(string Outcome, int Requests, int Images, int Batches, int Problems)
{
    public const string Planned = "planned";
}
