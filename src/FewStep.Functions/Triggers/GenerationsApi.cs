using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using FewStep.Functions.Contracts;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Validation;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Triggers;

/// <summary>
/// <c>POST /api/generations</c>, <c>GET /api/generations/{id}</c>, <c>DELETE /api/generations/{id}</c>. Thin:
/// validate, start or query the orchestration, answer. A client's mistake is a 4xx problem, never a 500.
/// </summary>
public sealed partial class GenerationsApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private readonly GenerationRequestParser _parser;
    private readonly GenerationStatusReader _statusReader;
    private readonly FewStepOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<GenerationsApi> _logger;

    public GenerationsApi(
        GenerationRequestParser parser,
        GenerationStatusReader statusReader,
        IOptions<FewStepOptions> options,
        TimeProvider time,
        ILogger<GenerationsApi> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _parser = parser;
        _statusReader = statusReader;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    [Function("StartGeneration")]
    public async Task<HttpResponseData> Start(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "generations")] HttpRequestData request,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var idempotencyKey = request.Headers.TryGetValues(IdempotencyKeyHeader, out var keys) ? keys.FirstOrDefault() : null;
        if (idempotencyKey is not null && (idempotencyKey.Length is 0 or > 256 || idempotencyKey.Any(c => c is < ' ' or > '~')))
        {
            return await Invalid(request, IdempotencyKeyHeader, "must be 1 to 256 printable ASCII characters.", cancellationToken).ConfigureAwait(false);
        }

        var body = await RequestBody.ReadAsync(request, _options.MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return await HttpResponses.ProblemAsync(request, HttpStatusCode.RequestEntityTooLarge, "The request body is too large.",
                $"A generation request may be at most {_options.MaxRequestBytes} bytes.", cancellationToken).ConfigureAwait(false);
        }

        // JsonDocument does not check the UTF-8 inside strings; reading such a string later throws (a 500).
        if (!Utf8.IsValid(body))
        {
            return await Invalid(request, "body", "is not valid UTF-8.", cancellationToken).ConfigureAwait(false);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1}, position {e.BytePositionInLine + 1})" : string.Empty;
            return await Invalid(request, "body", $"is not valid JSON{where}.", cancellationToken).ConfigureAwait(false);
        }

        ParseResult parsed;
        using (document)
        {
            parsed = _parser.Parse(document.RootElement, () => RandomNumberGenerator.GetInt32(int.MaxValue));
        }

        if (parsed.ModelUnavailable)
        {
            return await HttpResponses.ProblemAsync(request, HttpStatusCode.ServiceUnavailable, "The model is not available.",
                parsed.Errors.ToString(), cancellationToken, parsed.Errors.ToDictionary()).ConfigureAwait(false);
        }

        if (!parsed.IsValid)
        {
            return await HttpResponses.ProblemAsync(request, HttpStatusCode.BadRequest, "The generation request is invalid.",
                "See errors for each field.", cancellationToken, parsed.Errors.ToDictionary()).ConfigureAwait(false);
        }

        var spec = parsed.Spec!;
        var id = idempotencyKey is null ? Guid.NewGuid().ToString("N") : IdFromKey(idempotencyKey);
        if (idempotencyKey is not null && await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            LogIdempotentReplay(_logger, id);
            return await Accepted(request, client, id, existing.ReadInputAs<GenerationInput>()?.Spec.Seed ?? spec.Seed, cancellationToken).ConfigureAwait(false);
        }

        var input = new GenerationInput(
            id,
            spec,
            $"generations/{id}",
            _options.BatchSize,
            _options.SubOrchestrationThreshold,
            _options.BatchesPerSubOrchestration,
            new RetrySettings(_options.RenderMaxAttempts, _options.RenderFirstRetryInterval, _options.RenderBackoffCoefficient),
            new RetrySettings(_options.WebhookMaxAttempts, _options.WebhookFirstRetryInterval, 2.0),
            _time.GetUtcNow());
        if (await OrchestrationStarts.StartOnceAsync(client, GenerateImagesOrchestrator.Name, input, id, cancellationToken).ConfigureAwait(false) is { } raced)
        {
            // Two requests with the same key raced; the other one started the generation.
            return await Accepted(request, client, id, raced.ReadInputAs<GenerationInput>()?.Spec.Seed ?? spec.Seed, cancellationToken).ConfigureAwait(false);
        }

        LogStarted(_logger, id, spec.Model, spec.ImageCount);
        return await Accepted(request, client, id, spec.Seed, cancellationToken).ConfigureAwait(false);
    }

    [Function("GetGeneration")]
    public async Task<HttpResponseData> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "generations/{id}")] HttpRequestData request,
        [DurableClient] DurableTaskClient client,
        string id,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (instance is null)
        {
            return await NotFound(request, id, cancellationToken).ConfigureAwait(false);
        }

        var status = await _statusReader.ReadAsync(instance, cancellationToken).ConfigureAwait(false);
        var response = await HttpResponses.JsonAsync(request, HttpStatusCode.OK, status, cancellationToken).ConfigureAwait(false);
        if (!GenerationStatusReader.IsTerminal(instance.RuntimeStatus))
        {
            response.Headers.Add("Retry-After", "2");
        }

        return response;
    }

    [Function("CancelGeneration")]
    public async Task<HttpResponseData> Cancel(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = "generations/{id}")] HttpRequestData request,
        [DurableClient] DurableTaskClient client,
        string id,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (instance is null)
        {
            return await NotFound(request, id, cancellationToken).ConfigureAwait(false);
        }

        if (GenerationStatusReader.IsTerminal(instance.RuntimeStatus))
        {
            return await HttpResponses.ProblemAsync(request, HttpStatusCode.Conflict, "The generation has already ended.",
                $"Generation '{id}' is {GenerationStatusReader.StatusName(instance.RuntimeStatus)}; only a pending or running generation can be canceled.",
                cancellationToken).ConfigureAwait(false);
        }

        await client.TerminateInstanceAsync(id, new TerminateInstanceOptions { Output = "canceled by DELETE", Recursive = true }, cancellationToken).ConfigureAwait(false);
        LogCanceled(_logger, id);
        var response = await HttpResponses.JsonAsync(request, HttpStatusCode.Accepted,
            new { id, status = "canceling", status_url = StatusUrl(request, id) }, cancellationToken).ConfigureAwait(false);
        response.Headers.Add("Location", StatusUrl(request, id));
        return response;
    }

    /// <summary>The instance id for an idempotency key: the same key always names the same generation.</summary>
    public static string IdFromKey(string key) =>
        "k" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];

    public static string StatusUrl(HttpRequestData request, string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return $"{request.Url.GetLeftPart(UriPartial.Authority)}/api/generations/{Uri.EscapeDataString(id)}";
    }

    private static async Task<HttpResponseData> Accepted(HttpRequestData request, DurableTaskClient client, string id, long seed, CancellationToken cancellationToken)
    {
        // Read the payload's properties: a System.Text.Json copy of it does not carry the camelCase names
        // (statusQueryGetUri...), so looking them up there found nothing and the 202 had empty management URLs.
        var management = client.CreateHttpManagementPayload(id, request);
        var statusUrl = StatusUrl(request, id);
        var response = await HttpResponses.JsonAsync(request, HttpStatusCode.Accepted,
            new GenerationAccepted(id, statusUrl, management.StatusQueryGetUri ?? string.Empty, management.TerminatePostUri ?? string.Empty,
                management.PurgeHistoryDeleteUri ?? string.Empty, seed),
            cancellationToken).ConfigureAwait(false);
        response.Headers.Add("Location", statusUrl);
        response.Headers.Add("Retry-After", "2");
        return response;
    }

    private static Task<HttpResponseData> Invalid(HttpRequestData request, string field, string message, CancellationToken cancellationToken) =>
        HttpResponses.ProblemAsync(request, HttpStatusCode.BadRequest, "The generation request is invalid.", $"{field} {message}", cancellationToken,
            new Dictionary<string, string[]> { [field] = [message] });

    private static Task<HttpResponseData> NotFound(HttpRequestData request, string id, CancellationToken cancellationToken) =>
        HttpResponses.ProblemAsync(request, HttpStatusCode.NotFound, "No such generation.", $"There is no generation with id '{id}'.", cancellationToken);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Started generation {Id}: {Images} images of model {Model}")]
    private static partial void LogStarted(ILogger logger, string id, string model, int images);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Idempotency key matched generation {Id}; returning it")]
    private static partial void LogIdempotentReplay(ILogger logger, string id);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Canceling generation {Id}")]
    private static partial void LogCanceled(ILogger logger, string id);
}
