using FewStep.Diffusion;
using FewStep.Functions.Contracts;
using Microsoft.DurableTask;

namespace FewStep.Functions.Orchestration;

/// <summary>The <c>error</c> users see: codes, and the cause of a durable failure rather than the task wrappers around it.</summary>
public static class RunErrors
{
    /// <summary>A user's mistake the request validation could not see (not retried).</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>The service could not make the images (a model that does not load, retries spent, a bug).</summary>
    public const string RenderFailed = "render_failed";

    /// <summary>A job file that was not run because it is malformed.</summary>
    public const string Rejected = "rejected";

    /// <summary>The orchestration itself failed (a bug): the logs have the details.</summary>
    public const string Internal = "internal_error";

    /// <summary>The user-facing error for a failed activity; details the host did not pass on become a generic render failure.</summary>
    public static GenerationError From(TaskFailureDetails? failure)
    {
        // The cause is the first failure that is not a durable task wrapper: an activity failure is recorded as
        // TaskFailedException outside and the activity's exception inside.
        var cause = failure;
        while (cause?.InnerFailure is not null && cause.IsCausedBy<TaskFailedException>())
        {
            cause = cause.InnerFailure;
        }

        if (cause is null || string.IsNullOrWhiteSpace(cause.ErrorMessage))
        {
            return new GenerationError(RenderFailed, "A batch failed after its retries; the service's logs have the details.");
        }

        // The cause's own message: our exceptions word it for users (a model-load failure keeps server paths to the logs).
        return new GenerationError(cause.IsCausedBy<DiffusionException>() ? InvalidRequest : RenderFailed, cause.ErrorMessage);
    }
}
