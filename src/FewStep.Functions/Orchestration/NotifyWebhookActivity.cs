using System.Net.Http.Json;
using FewStep.Functions.Contracts;
using FewStep.Functions.Storage;
using Microsoft.Azure.Functions.Worker;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// POSTs the final status (the <c>GET /api/generations/{id}</c> body) to the request's webhook. Any failure is
/// transient here: the durable policy retries with back-off, and the orchestrator logs a final failure without
/// failing the generation.
/// </summary>
public sealed class NotifyWebhookActivity
{
    public const string Name = "NotifyWebhook";
    public const string HttpClientName = "webhook";

    private readonly IHttpClientFactory _http;
    private readonly IImageStore _store;

    public NotifyWebhookActivity(IHttpClientFactory http, IImageStore store)
    {
        _http = http;
        _store = store;
    }

    [Function(Name)]
    public Task Run([ActivityTrigger] WebhookInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(input, context.CancellationToken);
    }

    public async Task RunAsync(WebhookInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            var status = new GenerationStatus
            {
                Id = input.Id,
                Status = input.Status,
                CreatedAt = input.CreatedAt,
                CompletedAt = input.CompletedAt,
                Model = input.Model,
                Seed = input.Seed,
                Progress = new GenerationProgress(input.Completed, input.Total),
                Images = await ImageLinks.ListAsync(_store, input.BlobPrefix, cancellationToken).ConfigureAwait(false),
                Error = input.Error,
            };
            using var client = _http.CreateClient(HttpClientName);
            using var response = await client.PostAsJsonAsync(new Uri(input.Url), status, cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientFailureException($"Webhook {input.Url} for generation {input.Id} failed: {e.Message}", e);
        }
    }
}
