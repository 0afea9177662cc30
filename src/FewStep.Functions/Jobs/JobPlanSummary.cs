namespace FewStep.Functions.Jobs;

/// <summary>What planning a job found: its size, or that it was rejected (with an error report) or superseded.</summary>
public sealed record JobPlanSummary(string Outcome, int Requests, int Images, int Batches, int Problems)
{
    public const string Planned = "planned";
    public const string Rejected = "rejected";

    /// <summary>The blob changed or vanished after the trigger fired: a newer upload has its own run.</summary>
    public const string Superseded = "superseded";
}
