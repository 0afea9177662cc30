using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using FewStep.Functions.Cancellation;
using FewStep.Functions.Contracts;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Plans;
using FewStep.Functions.Queueing;
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

    private static readonly JsonDocumentOptions s_json = new() { MaxDepth = 64 };

    private readonly GenerationRequestParser _parser;
    private readonly RunStatusReader _statusReader;
    private readonly RunPlanStore _requests;
    private readonly RunCancellation _cancellation;
    private readonly QueueAdmission _queue;
    private readonly WebhookAddressPolicy _webhooks;
    private readonly FewStepOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<GenerationsApi> _logger;

    public GenerationsApi(
        GenerationRequestParser parser,
        RunStatusReader statusReader,
        RunPlanStore requests,
        RunCancellation cancellation,
        QueueAdmission queue,
        WebhookAddressPolicy webhooks,
        IOptions<FewStepOptions> options,
        TimeProvider time,
        ILogger<GenerationsApi> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _parser = parser;
        _statusReader = statusReader;
        _requests = requests;
        _cancellation = cancellation;
        _queue = queue;
        _webhooks = webhooks;
        _options = options.Value;
        _time = time;
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

    /// <summary>The instance id for an idempotency key: the same key always names the same generation.</summary>
    public static string IdFromKey(string key) =>
        "k" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];

    public static string StatusUrl(HttpRequest request, string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return $"{request.Scheme}://{request.Host.ToUriComponent()}/api/generations/{Uri.EscapeDataString(id)}";
    }

    private async Task<IActionResult> StartAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken)
    {
        string? key = null;
        if (request.Headers.TryGetValue(IdempotencyKeyHeader, out var keys))
        {
            key = keys.Count == 1 ? keys[0] : null;
            if (key is null || key.Length is 0 or > 256 || key.Any(c => c is < ' ' or > '~'))
            {
                return ApiResponses.Invalid(IdempotencyKeyHeader, "must be given once, as 1 to 256 printable ASCII characters.");
            }
        }

        var body = await RequestBody.ReadAsync(request, _options.MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return ApiResponses.Problem(StatusCodes.Status413PayloadTooLarge, "The request body is too large.",
                $"A generation request may be at most {_options.MaxRequestBytes} bytes.");
        }

        // JsonDocument does not check the UTF-8 inside strings; reading such a string later would throw.
        if (!Utf8.IsValid(body))
        {
            return ApiResponses.Invalid("body", "is not valid UTF-8.");
        }

        ParseResult parsed;
        try
        {
            using var document = JsonDocument.Parse(body, s_json);
            parsed = _parser.Parse(document.RootElement, key is null ? () => RandomNumberGenerator.GetInt32(int.MaxValue) : () => RequestFingerprint.SeedForKey(key));
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1}, position {e.BytePositionInLine + 1})" : string.Empty;
            return ApiResponses.Invalid("body", $"is not valid JSON{where}.");
        }

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

        var id = key is null ? Guid.NewGuid().ToString("N") : IdFromKey(key);
        var fingerprint = key is null ? null : RequestFingerprint.Of(spec);
        if (key is not null && await _requests.ReadRequestAsync(id, cancellationToken).ConfigureAwait(false) is { } earlier)
        {
            return await ReplayAsync(request, client, key, earlier, fingerprint, cancellationToken).ConfigureAwait(false);
        }

        var admission = await _queue.TryAdmitAsync(client, spec.ImageCount, cancellationToken).ConfigureAwait(false);
        if (!admission.Admitted)
        {
            return ApiResponses.Problem(StatusCodes.Status429TooManyRequests, "The service is busy.",
                    $"{admission.Queued} images are queued; the service accepts new work up to {_options.MaxQueuedImages}. Try again later.")
                .WithHeader("Retry-After", ApiResponses.Seconds(_options.QueueFullRetryAfter));
        }

        var stored = new StoredRequest(id, fingerprint, _time.GetUtcNow(), _options.BatchSize, spec);
        if (!await _requests.TryCreateRequestAsync(stored, cancellationToken).ConfigureAwait(false))
        {
            // A concurrent POST with the same key recorded its request first: answer as a retry of it.
            var winner = await _requests.ReadRequestAsync(id, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The request record of {id} exists but cannot be read.");
            return await ReplayAsync(request, client, key!, winner, fingerprint, cancellationToken).ConfigureAwait(false);
        }

        await OrchestrationStarts.StartOnceAsync(client, RunOrchestrator.Name, RunInputs.ForGeneration(stored, _options), id, cancellationToken).ConfigureAwait(false);
        LogStarted(_logger, id, spec.Model, spec.ImageCount);
        return Accepted(request, id, spec.Seed);
    }

    // The same key again: the same generation if the request is the same (starting it if the first POST died
    // between recording and starting), a 422 if it is another request.
    private async Task<IActionResult> ReplayAsync(HttpRequest request, DurableTaskClient client, string key, StoredRequest earlier, string? fingerprint, CancellationToken cancellationToken)
    {
        if (!string.Equals(earlier.Fingerprint, fingerprint, StringComparison.Ordinal))
        {
            LogKeyReused(_logger, earlier.Id);
            return ApiResponses.Problem(StatusCodes.Status422UnprocessableEntity, "The idempotency key was used for another request.",
                $"Idempotency-Key '{key}' already names generation '{earlier.Id}', made from a different request. Use a new key for a new request.",
                new Dictionary<string, string[]> { [IdempotencyKeyHeader] = [$"was used for a different request (generation '{earlier.Id}'); use a new key for a new request."] });
        }

        if (await client.GetInstanceAsync(earlier.Id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false) is null)
        {
            await OrchestrationStarts.StartOnceAsync(client, RunOrchestrator.Name, RunInputs.ForGeneration(earlier, _options), earlier.Id, cancellationToken).ConfigureAwait(false);
        }

        LogIdempotentReplay(_logger, earlier.Id);
        return Accepted(request, earlier.Id, earlier.Spec.Seed);
    }

    private ApiResult Accepted(HttpRequest request, string id, long seed)
    {
        var statusUrl = StatusUrl(request, id);
        return ApiResponses.Json(StatusCodes.Status202Accepted, new GenerationAccepted(id, statusUrl, seed))
            .WithHeader("Location", statusUrl)
            .WithHeader("Retry-After", ApiResponses.Seconds(_options.StatusRetryAfter));
    }

    private static ApiResult NotFound(string? id) =>
        ApiResponses.NotFound("No such generation.", $"There is no generation with id '{Shorten(id)}'.");

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Started generation {Id}: {Images} images of model {Model}")]
    private static partial void LogStarted(ILogger logger, string id, string model, int images);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Idempotency key matched generation {Id}; returning it")]
    private static partial void LogIdempotentReplay(ILogger logger, string id);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Canceling generation {Id}")]
    private static partial void LogCanceled(ILogger logger, string id);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Idempotency key of generation {Id} reused for a different request; answered 422")]
    private static partial void LogKeyReused(ILogger logger, string id);
}
