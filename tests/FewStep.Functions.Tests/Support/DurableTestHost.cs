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
        return StartOnFreePortAsync(registry =>
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

    /// <summary>
    /// Starts a host on a port the OS just reported free; the host's own random pick sometimes lands on a port in
    /// use (Azurite's, or one a previous host is still releasing), so a bind failure is retried on a new port.
    /// </summary>
    public static async Task<DurableTaskTestHost> StartOnFreePortAsync(Action<Microsoft.DurableTask.DurableTaskRegistry> register)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await DurableTaskTestHost.StartAsync(register, new DurableTaskTestHostOptions { Port = FreePort() });
            }
            catch (IOException) when (attempt < 5)
            {
            }
        }
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        socket.Start();
        return ((System.Net.IPEndPoint)socket.LocalEndpoint).Port;
    }

    /// <summary>An <see cref="IHttpClientFactory"/> handing out plain clients (webhooks to a local listener).</summary>
    public sealed class SingleClientFactory : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new() { Timeout = TimeSpan.FromSeconds(10) };
    }
}
