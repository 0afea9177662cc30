using System.Globalization;
using FewStep.Diffusion;
using FewStep.Functions.Cancellation;
using FewStep.Functions.Contracts;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using FewStep.Functions.Triggers;
using FewStep.Functions.Validation;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.OpenAi;

/// <summary>
/// The OpenAI Images API over FewStep: <c>POST /api/v1/images/generations</c> starts the same durable generation
/// as <c>POST /api/generations</c> and waits for its images (up to <see cref="FewStepOptions.OpenAiWait"/>, or what a
/// <c>Prefer: wait=N</c> / <c>respond-async</c> header asks); past the wait it answers 202 with the status URL, as
/// Replicate's <c>Prefer: wait</c> does. <c>GET /api/v1/models</c> lists the installed catalog models. Both are
/// anonymous to the Functions host and check the function key themselves (<see cref="ApiKeyVerifier"/>), because
/// OpenAI clients send it as <c>Authorization: Bearer</c>. Every error is in OpenAI's shape.
/// </summary>
public sealed partial class OpenAiImagesApi
{
    public const string ImagesRoute = "v1/images/generations";
    public const string ModelsRoute = "v1/models";

    private static readonly TimeSpan s_firstPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_maxPoll = TimeSpan.FromSeconds(1);

    private readonly OpenAiRequestTranslator _translator;
    private readonly GenerationRequestParser _parser;
    private readonly GenerationStarter _starter;
    private readonly RunStatusReader _statusReader;
    private readonly RunStores _stores;
    private readonly RunCancellation _cancellation;
    private readonly ApiKeyVerifier _keys;
    private readonly ModelRegistry _models;
    private readonly FewStepOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<OpenAiImagesApi> _logger;

    public OpenAiImagesApi(
        OpenAiRequestTranslator translator,
        GenerationRequestParser parser,
        GenerationStarter starter,
        RunStatusReader statusReader,
        RunStores stores,
        RunCancellation cancellation,
        ApiKeyVerifier keys,
        ModelRegistry models,
        IOptions<FewStepOptions> options,
        TimeProvider time,
        ILogger<OpenAiImagesApi> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _translator = translator;
        _parser = parser;
        _starter = starter;
        _statusReader = statusReader;
        _stores = stores;
        _cancellation = cancellation;
        _keys = keys;
        _models = models;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    [Function("OpenAiCreateImage")]
    public Task<IActionResult> CreateImage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = ImagesRoute)] HttpRequest request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        return GuardedAsync(request, cancellationToken => CreateAsync(request, client, cancellationToken));
    }

    [Function("OpenAiListModels")]
    public Task<IActionResult> ListModels([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = ModelsRoute)] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GuardedAsync(request, _ =>
        {
            var models = _models.Catalog.Entries.Where(_models.IsInstalled).OrderBy(e => e.Name, StringComparer.Ordinal)
                .Select(e => new OpenAiModel(e.Name, InstalledAt(e), OwnerOf(e))).ToList();
            return Task.FromResult<IActionResult>(ApiResponses.Json(StatusCodes.Status200OK, new OpenAiModelList(models)));
        });
    }

    /// <summary>How long a request asks to wait (RFC 7240 <c>Prefer</c>): <c>respond-async</c> none, <c>wait=N</c> up to the setting.</summary>
    public static TimeSpan RequestedWait(HttpRequest request, TimeSpan limit)
    {
        ArgumentNullException.ThrowIfNull(request);
        foreach (var preference in request.Headers["Prefer"].SelectMany(v => (v ?? string.Empty).Split(',')))
        {
            var token = preference.Trim();
            if (token.Equals("respond-async", StringComparison.OrdinalIgnoreCase))
            {
                return TimeSpan.Zero;
            }

            if (token.StartsWith("wait=", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(token.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                return TimeSpan.FromSeconds(Math.Min(seconds, limit.TotalSeconds));
            }
        }

        return limit;
    }

    private async Task<IActionResult> GuardedAsync(HttpRequest request, Func<CancellationToken, Task<IActionResult>> handler)
    {
        var result = await ApiGuard.RunAsync(request, _logger, async cancellationToken =>
        {
            if (await _keys.RefusalAsync(request, cancellationToken).ConfigureAwait(false) is { } refusal)
            {
                return OpenAiErrors.Unauthorized(refusal);
            }

            return await handler(cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return result is ApiResult answer ? OpenAiErrors.From(answer) : result;
    }

    private async Task<IActionResult> CreateAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken)
    {
        if (!GenerationsApi.TryReadIdempotencyKey(request, out var key, out var keyProblem))
        {
            return keyProblem!;
        }

        using var body = await RequestBody.ReadJsonAsync(request, _options.MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var (translated, error) = _translator.Translate(body.Document!.RootElement);
        if (error is not null)
        {
            return error;
        }

        using var openAi = translated!;
        var parsed = _parser.Parse(openAi.Generation.RootElement, GenerationStarter.SeedSource(key));
        if (parsed.ModelUnavailable)
        {
            return OpenAiErrors.ModelNotFound(parsed.Errors.ToString());
        }

        if (!parsed.IsValid)
        {
            return Invalid(parsed.Errors);
        }

        var spec = parsed.Spec!;
        var started = await _starter.StartAsync(client, spec, key, cancellationToken).ConfigureAwait(false);
        switch (started.Kind)
        {
            case GenerationStartKind.QueueFull:
                return GenerationsApi.QueueFull(started.Queued, _options);
            case GenerationStartKind.KeyConflict:
                return GenerationsApi.KeyConflict(key!, started.Id);
        }

        var user = Shorten(openAi.User);
        LogRequest(_logger, started.Id, spec.Model, spec.ImageCount, user);
        OrchestrationMetadata? finished;
        try
        {
            finished = await WaitAsync(client, started.Id, RequestedWait(request, _options.OpenAiWait), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && started.Kind == GenerationStartKind.Started)
        {
            // The caller hung up before the images were done and has no id to find them by: stop spending the GPU on them.
            await _cancellation.RequestAsync(started.Id, CancellationToken.None).ConfigureAwait(false);
            LogAbandoned(_logger, started.Id);
            throw;
        }

        if (finished is null)
        {
            return GenerationsApi.Accepted(request, started.Id, started.Seed, _options);
        }

        var status = await _statusReader.ReadAsync(finished, cancellationToken).ConfigureAwait(false);
        return status.Status switch
        {
            RunStatuses.Succeeded => ApiResponses.Json(StatusCodes.Status200OK, new OpenAiImagesResponse(
                started.CreatedAt.ToUnixTimeSeconds(),
                await ImagesAsync(status, openAi.Base64, cancellationToken).ConfigureAwait(false),
                "png",
                FormattableString.Invariant($"{spec.Width}x{spec.Height}"))),
            RunStatuses.Canceled => OpenAiErrors.Error(StatusCodes.Status409Conflict,
                $"Generation {started.Id} was canceled (DELETE /api/generations/{started.Id}) before its images were done.", OpenAiErrors.InvalidRequest, null, "canceled"),
            _ when status.Error is { Code: RunErrors.InvalidRequest } failure => OpenAiErrors.Invalid(null, failure.Message, "generation_failed"),
            _ => OpenAiErrors.Error(StatusCodes.Status500InternalServerError,
                status.Error?.Message ?? $"Generation {started.Id} failed; the service's logs have the details.", OpenAiErrors.ServerError, null, status.Error?.Code),
        };
    }

    // Polls rather than WaitForInstanceCompletionAsync: the Azure Storage backend's wait polls every few seconds,
    // which is longer than a turbo model takes; this starts at 100 ms and backs off to 1 s.
    private async Task<OrchestrationMetadata?> WaitAsync(DurableTaskClient client, string id, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + wait;
        var delay = s_firstPoll;
        while (true)
        {
            var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
            if (instance is not null && RunStatusReader.IsTerminal(instance.RuntimeStatus))
            {
                return await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            }

            var left = deadline - _time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            await Task.Delay(delay < left ? delay : left, _time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 3 / 2, s_maxPoll.Ticks));
        }
    }

    private async Task<IReadOnlyList<OpenAiImage>> ImagesAsync(GenerationStatus status, bool base64, CancellationToken cancellationToken)
    {
        var images = new List<OpenAiImage>(status.Images.Count);
        foreach (var image in status.Images)
        {
            if (!base64)
            {
                images.Add(new OpenAiImage(image.Url, null));
                continue;
            }

            var png = await _stores.Images.ReadAsync(image.Blob, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Image {image.Blob} of succeeded generation {status.Id} is missing from storage.");
            images.Add(new OpenAiImage(null, Convert.ToBase64String(png.ToMemory().Span)));
        }

        return images;
    }

    // The shared parser's errors, named by the OpenAI parameter they concern (n for num_images_per_prompt, size for width/height).
    private static ApiResult Invalid(ValidationErrors errors)
    {
        var all = errors.ToDictionary();
        var messages = all.SelectMany(e => e.Value.Select(m =>
            OpenAiRequestTranslator.ParamFor(e.Key) is var param && param == e.Key ? $"{e.Key} {m}" : $"{param}: {e.Key} {m}"));
        return OpenAiErrors.Invalid(OpenAiRequestTranslator.ParamFor(all.Keys.First()), string.Join(" ", messages));
    }

    private long InstalledAt(FewStep.Diffusion.Catalog.ModelCatalogEntry entry)
    {
        var index = Path.Combine(_models.Describe(entry).Folder, "model_index.json");
        return new DateTimeOffset(File.GetLastWriteTimeUtc(index)).ToUnixTimeSeconds();
    }

    private static string OwnerOf(FewStep.Diffusion.Catalog.ModelCatalogEntry entry) =>
        entry.HubRepo?.Split('/') is [var owner, _] ? owner : "fewstep";

    private static string? Shorten(string? text) => text is null || text.Length <= 64 ? text : text[..64];

    [LoggerMessage(EventId = 5301, Level = LogLevel.Information, Message = "OpenAI images request {Id}: {Images} images of model {Model} for user {User}")]
    private static partial void LogRequest(ILogger logger, string id, string model, int images, string? user);

    [LoggerMessage(EventId = 5302, Level = LogLevel.Information, Message = "OpenAI images request {Id}: the caller left before the images were done; the generation is canceled")]
    private static partial void LogAbandoned(ILogger logger, string id);
}
