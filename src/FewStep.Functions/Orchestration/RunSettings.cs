namespace FewStep.Functions.Orchestration;

/// <summary>
/// The settings a run's orchestration uses, fixed when it starts and carried in its input, so replays (and the
/// executions after a continue-as-new) see the same values whatever the app settings say later.
/// </summary>
/// <param name="RenderWindow">Batches of this run queued or rendering at once.</param>
/// <param name="BatchesPerExecution">Batches scheduled before the orchestration continues as new.</param>
/// <param name="Retry">Retries of batches and bookkeeping activities that fail transiently.</param>
/// <param name="WebhookRetry">Retries of the webhook delivery.</param>
public sealed record RunSettings(int BatchSize, int RenderWindow, int BatchesPerExecution, RetrySettings Retry, RetrySettings WebhookRetry);
