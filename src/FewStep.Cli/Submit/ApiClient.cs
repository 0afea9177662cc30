using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FewStep.Cli.Submit;

/// <summary>
/// A client of a running FewStep Functions app: <c>POST {endpoint}/api/generations</c> (function key in
/// <c>x-functions-key</c>), <c>GET status_url</c>, and the image downloads.
/// </summary>
public sealed class ApiClient
{
    public const string KeyHeader = "x-functions-key";
    private readonly HttpClient _http;
    private readonly string? _key;

    public ApiClient(HttpClient http, Uri endpoint, string? key)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(endpoint);
        _http = http;
        Endpoint = endpoint.AbsoluteUri.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/");
        _key = string.IsNullOrWhiteSpace(key) ? null : key;
    }

    public Uri Endpoint { get; }

    /// <summary>A URL from an answer, absolute or relative to the endpoint.</summary>
    public Uri Resolve(string url) => new(Endpoint, url);

    public async Task<SubmittedGeneration> SubmitAsync(JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(Endpoint, "api/generations"))
        {
            Content = JsonContent.Create(request),
        };
        AddKey(message);
        using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is not (HttpStatusCode.Accepted or HttpStatusCode.OK or HttpStatusCode.Created))
        {
            throw await ErrorAsync(response, "submitting the request", cancellationToken).ConfigureAwait(false);
        }

        var body = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
        var id = body?["id"]?.GetValue<string>();
        var status = body?["status_url"]?.GetValue<string>() ?? response.Headers.Location?.ToString();
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(status))
        {
            throw new ApiException($"The API accepted the request but gave no id or status_url ({(int)response.StatusCode}).");
        }

        return new SubmittedGeneration(id, Resolve(status));
    }

    public async Task<StatusAnswer> GetStatusAsync(Uri statusUrl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(statusUrl);
        using var message = new HttpRequestMessage(HttpMethod.Get, statusUrl);
        AddKey(message);
        using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ApiException($"Unknown generation: {statusUrl} answered 404 Not Found.");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, "polling the status", cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var status = await response.Content.ReadFromJsonAsync<GenerationStatus>(cancellationToken).ConfigureAwait(false)
                ?? throw new ApiException("The status answer is empty.");
            var retryAfter = response.Headers.RetryAfter is { } r
                ? r.Delta ?? (r.Date is { } date ? date - DateTimeOffset.UtcNow : null)
                : null;
            return new StatusAnswer(status, retryAfter);
        }
        catch (JsonException e)
        {
            throw new ApiException($"The status answer from {statusUrl} is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Downloads one image to <paramref name="path"/> (temporary file, then rename). The key is sent only to the API's own host.</summary>
    public async Task DownloadAsync(Uri url, string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(path);
        using var message = new HttpRequestMessage(HttpMethod.Get, url);
        if (string.Equals(url.Authority, Endpoint.Authority, StringComparison.OrdinalIgnoreCase))
        {
            AddKey(message);
        }

        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new ApiException($"Downloading {url.GetLeftPart(UriPartial.Path)} failed: {(int)response.StatusCode} {response.ReasonPhrase}.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".part";
        await using (var output = File.Create(temporary))
        {
            await response.Content.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private void AddKey(HttpRequestMessage message)
    {
        if (_key is not null)
        {
            message.Headers.Add(KeyHeader, _key);
        }
    }

    private static async Task<JsonNode?> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<ApiException> ErrorAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var head = $"{status} {response.ReasonPhrase}".Trim();
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return new ApiException(status, $"The API refused the function key while {what} ({head}): pass --key or set FEWSTEP_FUNCTIONS_KEY.", new Dictionary<string, IReadOnlyList<string>>());
        }

        var body = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false) as JsonObject;
        var errors = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (body?["errors"] is JsonObject fields)
        {
            foreach (var (field, messages) in fields)
            {
                errors[field] = messages switch
                {
                    JsonArray list => list.Select(m => m?.ToString() ?? string.Empty).ToArray(),
                    null => [],
                    _ => [messages.ToString()],
                };
            }
        }

        var parts = new List<string> { $"The API answered {head} while {what}" };
        if (Text(body, "title") is { } title)
        {
            parts[0] += $": {title}";
        }

        if (Text(body, "detail") is { } detail)
        {
            parts.Add(detail);
        }

        parts.AddRange(errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));
        return new ApiException(status, string.Join("; ", parts), errors);
    }

    private static string? Text(JsonObject? body, string name) =>
        body?[name] is JsonValue value && value.TryGetValue<string>(out var text) && !string.IsNullOrWhiteSpace(text) ? text : null;
}
