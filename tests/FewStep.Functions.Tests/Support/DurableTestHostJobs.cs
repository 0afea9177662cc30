using FewStep.Functions.Jobs;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Tests.Support;

internal static class DurableTestHostJobs
{
    /// <summary>
    /// The job orchestrators and activities (and the generation ones) from a service provider built with
    /// <c>AddFewStep</c>, with <paramref name="renderer"/> and <paramref name="results"/> replacing the app's when given.
    /// </summary>
    public static Task<DurableTaskTestHost> StartAsync(IServiceProvider services, IImageRenderer? renderer = null, IImageStore? results = null)
    {
        renderer ??= services.GetRequiredService<IImageRenderer>();
        results ??= services.GetRequiredKeyedService<IImageStore>(StoreKeys.Results);
        var storage = services.GetRequiredService<JobStorage>();
        var plan = new PlanJobActivity(storage, services.GetRequiredService<JobFileParser>(), TimeProvider.System, NullLogger<PlanJobActivity>.Instance);
        var render = new RenderJobBatchActivity(storage, renderer, results);
        var manifest = new WriteJobManifestActivity(storage, results);
        return DurableTestHost.StartOnFreePortAsync(registry =>
        {
            registry.AddOrchestratorFunc<JobInput, JobOutput>(RunJobOrchestrator.Name, (context, input) => RunJobOrchestrator.RunAsync(context, input));
            registry.AddOrchestratorFunc<JobChunkInput, JobChunkResult>(JobChunkOrchestrator.Name, (context, input) => JobChunkOrchestrator.RunAsync(context, input));
            registry.AddActivityFunc<JobInput, JobPlanSummary>(PlanJobActivity.Name, (_, input) => plan.RunAsync(input, CancellationToken.None));
            registry.AddActivityFunc<JobBatchInput, FewStep.Functions.Orchestration.RenderBatchResult>(RenderJobBatchActivity.Name, (_, input) => render.RunAsync(input, CancellationToken.None));
            registry.AddActivityFunc<JobManifestInput, JobManifestSummary>(WriteJobManifestActivity.Name, (_, input) => manifest.RunAsync(input, CancellationToken.None));
        });
    }

    public static JobStarter Starter(IServiceProvider services) => new(
        services.GetRequiredService<IOptions<Options.FewStepOptions>>(), TimeProvider.System, NullLogger<JobStarter>.Instance);
}
