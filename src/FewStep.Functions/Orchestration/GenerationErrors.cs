using FewStep.Diffusion;
using FewStep.Functions.Contracts;
using Microsoft.DurableTask;

namespace FewStep.Functions.Orchestration;

/// <summary>Turns durable failure details into the <c>error</c> users see: the root cause, not the task wrapper.</summary>
public static class GenerationErrors
{
    public const string InvalidRequest = "invalid_request";
    public const string RenderFailed = "render_failed";

    public static GenerationError From(TaskFailureDetails failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var root = failure;
        while (root.InnerFailure is not null)
        {
            root = root.InnerFailure;
        }

        return new GenerationError(root.IsCausedBy<DiffusionException>() ? InvalidRequest : RenderFailed, root.ErrorMessage);
    }
}
