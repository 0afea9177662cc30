using System.Net.Http.Json;
using FewStep.Functions.Contracts;
using FewStep.Functions.Storage;
using FewStep.Functions.Webhooks;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// POSTs the final status (the <c>GET /api/generations/{id}</c> body) to the request's webhook. The HTTP client
/// checks the address again as it connects (DNS may have changed since validation) and connects to the address
/// it checked; a refused address fails at once. Any other failure is transient: the durable policy retries with
/// back-off, and the orchestrator logs a final failure without failing the generation.
/// </summary>
public sealed partial class NotifyWebhookActivity
{
    public const string Name = "NotifyWebhook";
    public const string HttpClientName = "webhook";

    private readonly IHttpClientFactory _http;
    private readonly RunStores _stores;
    private readonly ILogger<NotifyWebhookActivity> _logger;

    public NotifyWebhookActivity(IHttpClientFactory http, RunStores stores, ILogger<NotifyWebhookActivity> logger)
    {
        _http = http;
        _stores = stores;
        _logger = logger;
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
                Id = input.Run.Id,
                Status = input.Status,
                CreatedAt = input.CreatedAt,
                CompletedAt = input.CompletedAt,
                Model = input.Model,
                Seed = input.Seed,
                Progress = new GenerationProgress(input.Completed, input.Total),
                Images = await ImageLinks.ListAsync(_stores.For(input.Run.Kind), input.Run.Prefix, cancellationToken).ConfigureAwait(false),
                Error = input.Error,
            };
            using var client = _http.CreateClient(HttpClientName);
            using var response = await client.PostAsJsonAsync(new Uri(input.Url), status, cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            LogDelivered(_logger, input.Run.Id, (int)response.StatusCode);
        }
        catch (HttpRequestException e) when (Refusal(e) is { } refused)
        {
            LogRefused(_logger, input.Run.Id, refused.Message);
            throw new InvalidOperationException($"Webhook for {input.Run.Id} not delivered: {refused.Message}", refused);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or Azure.RequestFailedException && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientFailureException($"Webhook for {input.Run.Id} failed: {e.Message}", e);
        }
    }

    private static WebhookAddressRefusedException? Refusal(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is WebhookAddressRefusedException refused)
            {
                return refused;
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Run {Id}: webhook delivered ({StatusCode})")]
    private static partial void LogDelivered(ILogger logger, string id, int statusCode);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Run {Id}: webhook refused at delivery: {Reason}")]
    private static partial void LogRefused(ILogger logger, string id, string reason);
}
