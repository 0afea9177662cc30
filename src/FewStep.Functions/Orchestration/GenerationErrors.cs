using FewStep.Diffusion;
using FewStep.Functions.Contracts;
using Microsoft.DurableTask;

namespace FewStep.Functions.Orchestration;

/// <summary>Turns durable failure details into the <c>error</c> users see: the cause, not the task wrappers around it.</summary>
public static class GenerationErrors
{
    public const string InvalidRequest = "invalid_request";
    public const string RenderFailed = "render_failed";

    public static GenerationError From(TaskFailureDetails failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        // The cause is the first failure that is not a durable task wrapper: an orchestration failed by an activity
        // (or by a sub-orchestration) records TaskFailedException outside and the activity's exception inside.
        var cause = failure;
        while (cause.InnerFailure is not null && cause.IsCausedBy<TaskFailedException>())
        {
            cause = cause.InnerFailure;
        }

        // The cause's own message: our exceptions word it for users (a model-load failure keeps server paths to the logs).
        return new GenerationError(cause.IsCausedBy<DiffusionException>() ? InvalidRequest : RenderFailed, cause.ErrorMessage);
    }
}
