using FewStep.Functions.Cancellation;
using FewStep.Functions.Contracts;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Validation;
using FewStep.Functions.Webhooks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Triggers;

/// <summary>
/// <c>POST /api/generations</c>, <c>GET /api/generations/{id}</c>, <c>DELETE /api/generations/{id}</c>. Thin:
/// validate, record the request, start or query the run, answer. A client's mistake is a 4xx problem naming
/// the field; storage being down is a 503; nothing a client sends is a 500.
/// </summary>
public sealed partial class GenerationsApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private readonly GenerationRequestParser _parser;
    private readonly RunStatusReader _statusReader;
    private readonly GenerationStarter _starter;
    private readonly RunCancellation _cancellation;
    private readonly WebhookAddressPolicy _webhooks;
    private readonly FewStepOptions _options;
    private readonly ILogger<GenerationsApi> _logger;

    public GenerationsApi(
        GenerationRequestParser parser,
        RunStatusReader statusReader,
        GenerationStarter starter,
        RunCancellation cancellation,
        WebhookAddressPolicy webhooks,
        IOptions<FewStepOptions> options,
        ILogger<GenerationsApi> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _parser = parser;
        _statusReader = statusReader;
        _starter = starter;
        _cancellation = cancellation;
        _webhooks = webhooks;
        _options = options.Value;
        _logger = logger;
    }

    [Function("StartGeneration")]
    public Task<IActionResult> Start(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "generations")] HttpRequest request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        return ApiGuard.RunAsync(request, _logger, cancellationToken => StartAsync(request, client, cancellationToken));
    }

    [Function("GetGeneration")]
    public Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "generations/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        return ApiGuard.RunAsync(request, _logger, async cancellationToken =>
        {
            var instance = await PublicRuns.FindAsync(client, id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            if (instance is null)
            {
                return NotFound(id);
            }

            var status = await _statusReader.ReadAsync(instance, cancellationToken).ConfigureAwait(false);
            var answer = ApiResponses.Json(StatusCodes.Status200OK, status);
            return RunStatusReader.IsTerminal(instance.RuntimeStatus) ? answer : answer.WithHeader("Retry-After", ApiResponses.Seconds(_options.StatusRetryAfter));
        });
    }

    [Function("CancelGeneration")]
    public Task<IActionResult> Cancel(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = "generations/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        return ApiGuard.RunAsync(request, _logger, async cancellationToken =>
        {
            var instance = await PublicRuns.FindAsync(client, id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
            if (instance is null)
            {
                return NotFound(id);
            }

            if (RunStatusReader.IsTerminal(instance.RuntimeStatus))
            {
                return ApiResponses.Problem(StatusCodes.Status409Conflict, "The generation has already ended.",
                    $"Generation '{id}' has ended; only a pending or running generation can be canceled.");
            }

            // The answer comes only after the marker is written: from then on no batch of the run starts.
            await _cancellation.RequestAsync(instance.InstanceId, cancellationToken).ConfigureAwait(false);
            LogCanceled(_logger, instance.InstanceId);
            var statusUrl = StatusUrl(request, instance.InstanceId);
            return ApiResponses.Json(StatusCodes.Status202Accepted, new CancelAccepted(instance.InstanceId, RunStatuses.Canceling, statusUrl))
                .WithHeader("Location", statusUrl);
        });
    }

    public static string StatusUrl(HttpRequest request, string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return $"{request.Scheme}://{request.Host.ToUriComponent()}/api/generations/{Uri.EscapeDataString(id)}";
    }

    private async Task<IActionResult> StartAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken)
    {
        if (!TryReadIdempotencyKey(request, out var key, out var keyProblem))
        {
            return keyProblem!;
        }

        using var body = await RequestBody.ReadJsonAsync(request, _options.MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var parsed = _parser.Parse(body.Document!.RootElement, GenerationStarter.SeedSource(key));
        if (parsed.ModelUnavailable)
        {
            return ApiResponses.Problem(StatusCodes.Status503ServiceUnavailable, "The model is not available.", parsed.Errors.ToString(), parsed.Errors.ToDictionary());
        }

        if (!parsed.IsValid)
        {
            return ApiResponses.Problem(StatusCodes.Status400BadRequest, "The generation request is invalid.", "See errors for each field.", parsed.Errors.ToDictionary());
        }

        var spec = parsed.Spec!;
        if (spec.WebhookUrl is { } webhook)
        {
            var check = await _webhooks.CheckAsync(new Uri(webhook), cancellationToken).ConfigureAwait(false);
            if (!check.Allowed)
            {
                return ApiResponses.Invalid("webhook_url", check.Reason ?? "is not an allowed address.");
            }
        }

        var started = await _starter.StartAsync(client, spec, key, cancellationToken).ConfigureAwait(false);
        return started.Kind switch
        {
            GenerationStartKind.QueueFull => QueueFull(started.Queued, _options),
            GenerationStartKind.KeyConflict => KeyConflict(key!, started.Id),
            _ => Accepted(request, started.Id, started.Seed),
        };
    }

    /// <summary>The 422 of an <c>Idempotency-Key</c> that names another request's generation.</summary>
    public static ApiResult KeyConflict(string key, string id) =>
        ApiResponses.Problem(StatusCodes.Status422UnprocessableEntity, "The idempotency key was used for another request.",
            $"Idempotency-Key '{key}' already names generation '{id}', made from a different request. Use a new key for a new request.",
            new Dictionary<string, string[]> { [IdempotencyKeyHeader] = [$"was used for a different request (generation '{id}'); use a new key for a new request."] });

    /// <summary>The 429 of a full queue.</summary>
    public static ApiResult QueueFull(long queued, FewStepOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return ApiResponses.Problem(StatusCodes.Status429TooManyRequests, "The service is busy.",
                $"{queued} images are queued; the service accepts new work up to {options.MaxQueuedImages}. Try again later.")
            .WithHeader("Retry-After", ApiResponses.Seconds(options.QueueFullRetryAfter));
    }

    /// <summary>The <c>Idempotency-Key</c> header: null when absent, a problem when malformed.</summary>
    public static bool TryReadIdempotencyKey(HttpRequest request, out string? key, out ApiResult? problem)
    {
        ArgumentNullException.ThrowIfNull(request);
        key = null;
        problem = null;
        if (!request.Headers.TryGetValue(IdempotencyKeyHeader, out var keys))
        {
            return true;
        }

        key = keys.Count == 1 ? keys[0] : null;
        if (key is null || key.Length is 0 or > 256 || key.Any(c => c is < ' ' or > '~'))
        {
            key = null;
            problem = ApiResponses.Invalid(IdempotencyKeyHeader, "must be given once, as 1 to 256 printable ASCII characters.");
            return false;
        }

        return true;
    }

    private ApiResult Accepted(HttpRequest request, string id, long seed) => Accepted(request, id, seed, _options);

    /// <summary>The 202 of a started generation: its status URL in <c>Location</c> and in the body.</summary>
    public static ApiResult Accepted(HttpRequest request, string id, long seed, FewStepOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var statusUrl = StatusUrl(request, id);
        return ApiResponses.Json(StatusCodes.Status202Accepted, new GenerationAccepted(id, statusUrl, seed))
            .WithHeader("Location", statusUrl)
            .WithHeader("Retry-After", ApiResponses.Seconds(options.StatusRetryAfter));
    }

    private static ApiResult NotFound(string? id) =>
        ApiResponses.NotFound("No such generation.", $"There is no generation with id '{Shorten(id)}'.");

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Canceling generation {Id}")]
    private static partial void LogCanceled(ILogger logger, string id);
}
