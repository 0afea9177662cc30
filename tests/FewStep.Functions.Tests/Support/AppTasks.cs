using FewStep.Functions.Jobs;
using FewStep.Functions.Manifests;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Tests.Support.Durable;
using Microsoft.Extensions.DependencyInjection;

namespace FewStep.Functions.Tests.Support;

/// <summary>
/// The app's orchestrator and activities registered with a durable backend as the Functions host registers them:
/// by their function names, activities created from the app's service graph (one scope per invocation).
/// </summary>
internal static class AppTasks
{
    /// <summary>The names registered here; a contract test checks they are exactly the app's durable functions.</summary>
    public static readonly IReadOnlyList<string> Names = [RunOrchestrator.Name, PlanJobActivity.Name, RenderBatchActivity.Name, WriteManifestActivity.Name, NotifyWebhookActivity.Name];

    /// <param name="stopping">Fires when the test app stops, as the host's shutdown token does for running functions.</param>
    public static void Register(ITaskRegistrar registrar, IServiceProvider services, CancellationToken stopping)
    {
        registrar.AddOrchestrator<RunInput, RunOutput?>(RunOrchestrator.Name, (context, input) => RunOrchestrator.RunAsync(context, input));
        registrar.AddActivity<RunInput, PlanSummary>(PlanJobActivity.Name, (_, input) => Run<PlanJobActivity, PlanSummary>(services, a => a.RunAsync(input, stopping)));
        registrar.AddActivity<RenderBatchInput, RenderBatchResult>(RenderBatchActivity.Name, (_, input) => Run<RenderBatchActivity, RenderBatchResult>(services, a => a.RunAsync(input, stopping)));
        registrar.AddActivity<ManifestInput, ManifestSummary>(WriteManifestActivity.Name, (_, input) => Run<WriteManifestActivity, ManifestSummary>(services, a => a.RunAsync(input, stopping)));
        registrar.AddActivity<WebhookInput, bool>(NotifyWebhookActivity.Name, (_, input) => Run<NotifyWebhookActivity, bool>(services, async a =>
        {
            await a.RunAsync(input, stopping);
            return true;
        }));
    }

    private static async Task<TResult> Run<TActivity, TResult>(IServiceProvider services, Func<TActivity, Task<TResult>> run)
        where TActivity : notnull
    {
        await using var scope = services.CreateAsyncScope();
        return await run(scope.ServiceProvider.GetRequiredService<TActivity>());
    }
}
