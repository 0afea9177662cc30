using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using FewStep.Functions.Options;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Triggers;

/// <summary>
/// Function-key auth for routes the host cannot guard itself: the OpenAI-compatible <c>/v1</c> routes, whose clients
/// send the key as <c>Authorization: Bearer &lt;key&gt;</c>, which the Functions host does not read. Those routes are
/// anonymous to the host; this takes the key from <c>x-functions-key</c>, <c>Authorization: Bearer</c> or
/// <c>?code=</c> and has the host judge it by calling the app's function-level <c>GET /api/keys/check</c> with it, so
/// the same function and host keys work everywhere and rotate in one place. Answers are remembered for
/// <see cref="FewStepOptions.ApiKeyCacheLifetime"/> (a refusal for a tenth of it), by the key's hash.
/// </summary>
public sealed partial class ApiKeyVerifier
{
    public const string HttpClientName = "FewStep.KeyCheck";
    public const string FunctionsKeyHeader = "x-functions-key";
    private const int MaxRemembered = 4096;

    private readonly IHttpClientFactory _http;
    private readonly FewStepOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ApiKeyVerifier> _logger;
    private readonly ConcurrentDictionary<string, (bool Valid, DateTimeOffset Until)> _answers = new(StringComparer.Ordinal);

    public ApiKeyVerifier(IHttpClientFactory http, IOptions<FewStepOptions> options, TimeProvider time, ILogger<ApiKeyVerifier> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>The key a request carries: <c>x-functions-key</c>, else <c>Authorization: Bearer</c>, else <c>?code=</c>.</summary>
    public static string? ReadKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.TryGetValue(FunctionsKeyHeader, out var header) && header.Count > 0)
        {
            return header[0];
        }

        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        return request.Query.TryGetValue("code", out var code) && code.Count > 0 ? code[0] : null;
    }

    /// <summary>Null when the request carries a key the host accepts; otherwise why not (for a 401).</summary>
    public async Task<string?> RefusalAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // No key is asked about too: a host that does not check keys (func start) lets every request in.
        var key = ReadKey(request) ?? string.Empty;

        // A key goes into a header of the check request: only what a header can carry, and never an absurd length.
        if (key.Length > 512 || key.Any(c => c is <= ' ' or > '~'))
        {
            return "The API key is not a function key.";
        }

        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        var now = _time.GetUtcNow();
        if (!_answers.TryGetValue(hash, out var answer) || answer.Until <= now)
        {
            var valid = await AskHostAsync(request, key, cancellationToken).ConfigureAwait(false);
            if (_answers.Count >= MaxRemembered)
            {
                _answers.Clear();
            }

            answer = (valid, now + (valid ? _options.ApiKeyCacheLifetime : _options.ApiKeyCacheLifetime / 10));
            _answers[hash] = answer;
        }

        return answer.Valid ? null
            : key.Length == 0 ? "No API key was given. Send a function key as 'Authorization: Bearer <key>', as the x-functions-key header or as ?code=<key>."
            : "Incorrect API key provided: it is not a function or host key of this app.";
    }

    /// <summary>Where the app's key-check function is reached (see <see cref="FewStepOptions.KeyCheckUrl"/>).</summary>
    public Uri CheckUrl(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_options.KeyCheckUrl is { } configured)
        {
            return new Uri(configured);
        }

        var site = Environment.GetEnvironmentVariable("WEBSITE_HOSTNAME");
        if (!string.IsNullOrEmpty(site))
        {
            var local = site.StartsWith("localhost", StringComparison.OrdinalIgnoreCase) || site.StartsWith("127.", StringComparison.Ordinal);
            return new Uri($"{(local ? "http" : "https")}://{site}/api/{KeyCheckApi.Route}");
        }

        return new Uri($"{request.Scheme}://{request.Host.ToUriComponent()}/api/{KeyCheckApi.Route}");
    }

    private async Task<bool> AskHostAsync(HttpRequest request, string key, CancellationToken cancellationToken)
    {
        var url = CheckUrl(request);
        using var check = new HttpRequestMessage(HttpMethod.Get, url);
        if (key.Length > 0)
        {
            check.Headers.TryAddWithoutValidation(FunctionsKeyHeader, key);
        }
        using var response = await _http.CreateClient(HttpClientName).SendAsync(check, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return true;
        }

        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            LogRefused(_logger, url);
            return false;
        }

        // Not an answer about the key (the check function missing, the host failing): an outage, answered 503.
        throw new HttpRequestException($"The key check at {url} answered {(int)response.StatusCode}; set FewStep:KeyCheckUrl to the app's /api/{KeyCheckApi.Route}.", null, response.StatusCode);
    }

    [LoggerMessage(EventId = 5201, Level = LogLevel.Information, Message = "A /v1 request's key was refused by the host's key check at {Url}")]
    private static partial void LogRefused(ILogger logger, Uri url);
}
