using FewStep.Functions.Plans;

namespace FewStep.Functions.Jobs;

/// <summary>A job file read: its requests when it is valid, or every problem found in it.</summary>
public sealed record ParsedJob(IReadOnlyList<PlannedRequest> Requests, IReadOnlyList<JobProblem> Problems)
{
    public bool IsValid => Problems.Count == 0;
}
