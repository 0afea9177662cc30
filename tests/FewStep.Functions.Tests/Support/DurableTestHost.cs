using FewStep.Functions.Orchestration;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace FewStep.Functions.Tests.Support;

/// <summary>
/// The app's orchestrators and activities registered, as the Functions host would, in the in-process durable
/// host (real scheduling, replay and retries, no Azure).
/// </summary>
internal static class DurableTestHost
{
    public static Task<DurableTaskTestHost> StartAsync(IImageRenderer renderer, IImageStore store, IHttpClientFactory? http = null)
    {
        var render = new RenderBatchActivity(renderer, store, NullLogger<RenderBatchActivity>.Instance);
        var manifest = new WriteManifestActivity(store);
        var webhook = new NotifyWebhookActivity(http ?? new SingleClientFactory(), store);
        return DurableTaskTestHost.StartAsync(registry =>
        {
            registry.AddOrchestratorFunc<GenerationInput, GenerationOutput>(GenerateImagesOrchestrator.Name, (context, input) => GenerateImagesOrchestrator.RunAsync(context, input));
            registry.AddOrchestratorFunc<RenderChunkInput, RenderChunkResult>(RenderChunkOrchestrator.Name, (context, input) => RenderChunkOrchestrator.RunAsync(context, input));
            registry.AddActivityFunc<RenderBatchInput, RenderBatchResult>(RenderBatchActivity.Name, (_, input) => render.RunAsync(input, CancellationToken.None));
            registry.AddActivityFunc<ManifestInput, bool>(WriteManifestActivity.Name, async (_, input) =>
            {
                await manifest.RunAsync(input, CancellationToken.None);
                return true;
            });
            registry.AddActivityFunc<WebhookInput, bool>(NotifyWebhookActivity.Name, async (_, input) =>
            {
                await webhook.RunAsync(input, CancellationToken.None);
                return true;
            });
        });
    }

    /// <summary>An <see cref="IHttpClientFactory"/> handing out plain clients (webhooks to a local listener).</summary>
    public sealed class SingleClientFactory : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new() { Timeout = TimeSpan.FromSeconds(10) };
    }
}
