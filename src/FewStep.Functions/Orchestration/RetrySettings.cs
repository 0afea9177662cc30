using Microsoft.DurableTask;

namespace FewStep.Functions.Orchestration;

/// <summary>Retry schedule for an activity, carried in the orchestration input so replays see the same values.</summary>
public sealed record RetrySettings(int MaxAttempts, TimeSpan FirstRetryInterval, double BackoffCoefficient)
{
    /// <summary>Retries with exponential back-off, only for failures caused by <see cref="TransientFailureException"/>.</summary>
    public TaskOptions ToTaskOptions() => TaskOptions.FromRetryPolicy(new RetryPolicy(
        MaxAttempts,
        FirstRetryInterval,
        BackoffCoefficient,
        maxRetryInterval: TimeSpan.FromMinutes(10))
    {
        HandleFailure = failure => failure.IsCausedBy<TransientFailureException>(),
    });
}
