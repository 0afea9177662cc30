using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace FewStep.Cli.Hub;

/// <summary>
/// The parts of the Hugging Face Hub's public HTTP API a download needs: a revision's file listing
/// (<c>GET /api/models/{repo}/revision/{revision}?blobs=true</c>) and a file's bytes
/// (<c>GET /{repo}/resolve/{revision}/{path}</c>, redirects followed here so the <c>X-Linked-Etag</c> of the
/// first answer is kept and the token never travels to another host). A 429 or 5xx answer is a
/// <see cref="HubTransientException"/> and a failed connection an <see cref="HttpRequestException"/>: the caller's
/// retry policy (<see cref="HubRetry"/>) decides what to try again.
/// </summary>
public sealed class HubClient
{
    private const int MaxRedirects = 10;
    private readonly HttpClient _http;

    public HubClient(HttpClient http, HubOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        Options = options;
    }

    public HubOptions Options { get; }

    /// <summary>
    /// The commit <paramref name="revision"/> (a branch, tag or commit) resolves to, and its files with sizes and
    /// LFS sha256 where the Hub gives them.
    /// </summary>
    public async Task<HubRevision> ListFilesAsync(string repo, string revision, CancellationToken cancellationToken)
    {
        var uri = new Uri(Options.Endpoint, $"api/models/{repo}/revision/{Uri.EscapeDataString(revision)}?blobs=true");
        var what = $"listing {repo}@{revision}";
        using var response = await SendAsync(uri, 0, what, cancellationToken).ConfigureAwait(false);
        ThrowOnError(response.Response, repo, revision, path: null);
        await using var stream = await response.Response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!document.RootElement.TryGetProperty("siblings", out var siblings) || siblings.ValueKind != JsonValueKind.Array)
            {
                throw new HubException($"The Hub's answer for {repo}@{revision} has no \"siblings\" file list.");
            }

            var files = new List<HubFile>();
            foreach (var sibling in siblings.EnumerateArray())
            {
                if (!sibling.TryGetProperty("rfilename", out var name) || name.GetString() is not { Length: > 0 } path)
                {
                    continue;
                }

                long? size = sibling.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null;
                string? sha = null;
                if (sibling.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                {
                    if (lfs.TryGetProperty("sha256", out var oid) && oid.ValueKind == JsonValueKind.String)
                    {
                        sha = oid.GetString();
                    }

                    if (lfs.TryGetProperty("size", out var lfsSize) && lfsSize.ValueKind == JsonValueKind.Number)
                    {
                        size = lfsSize.GetInt64();
                    }
                }

                files.Add(new HubFile(path, size, sha?.ToLowerInvariant()));
            }

            var commit = document.RootElement.TryGetProperty("sha", out var commitSha) && commitSha.ValueKind == JsonValueKind.String ? commitSha.GetString() : null;
            return new HubRevision(commit, files);
        }
        catch (JsonException e)
        {
            throw new HubException($"The Hub's answer for {repo}@{revision} is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// Starts the download of one file from byte <paramref name="offset"/> (a <c>Range</c> request when above 0). The
    /// caller reads and disposes the answer; a 2xx status is guaranteed (200 when the server ignored the range).
    /// </summary>
    public async Task<HubFileResponse> OpenFileAsync(string repo, string revision, string path, long offset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        var escapedPath = string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
        var uri = new Uri(Options.Endpoint, $"{repo}/resolve/{Uri.EscapeDataString(revision)}/{escapedPath}");
        var response = await SendAsync(uri, offset, $"downloading {path}", cancellationToken).ConfigureAwait(false);
        try
        {
            if (response.Response.StatusCode != HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                ThrowOnError(response.Response, repo, revision, path);
            }

            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<HubFileResponse> SendAsync(Uri uri, long offset, string what, CancellationToken cancellationToken)
    {
        var response = await SendFollowingRedirectsAsync(uri, offset, cancellationToken).ConfigureAwait(false);
        var status = (int)response.Response.StatusCode;
        if (status < 500 && status != 429)
        {
            return response;
        }

        var reason = $"{status} {response.Response.ReasonPhrase}".Trim();
        var retryAfter = response.Response.Headers.RetryAfter is { } header
            ? header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null)
            : null;
        response.Dispose();
        throw new HubTransientException(status, $"the Hub answered {reason} while {what}", retryAfter is { } wait && wait > TimeSpan.Zero ? wait : null);
    }

    private async Task<HubFileResponse> SendFollowingRedirectsAsync(Uri uri, long offset, CancellationToken cancellationToken)
    {
        string? linkedEtag = null;
        long? linkedSize = null;
        for (var redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (Options.Token is not null && string.Equals(uri.Authority, Options.Endpoint.Authority, StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Options.Token);
            }

            if (offset > 0)
            {
                request.Headers.Range = new RangeHeaderValue(offset, null);
            }

            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            linkedEtag ??= Header(response, "X-Linked-Etag");
            if (linkedSize is null && long.TryParse(Header(response, "X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                linkedSize = size;
            }

            var status = (int)response.StatusCode;
            if (status is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
            {
                response.Dispose();
                if (redirects >= MaxRedirects)
                {
                    throw new HubException($"Too many redirects from {uri}.");
                }

                uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
                continue;
            }

            return new HubFileResponse(response, linkedEtag ?? Header(response, "ETag"), linkedSize);
        }
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private void ThrowOnError(HttpResponseMessage response, string repo, string revision, string? path)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var target = path is null ? $"{repo}@{revision}" : $"{path} in {repo}@{revision}";
        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized when Options.Token is null =>
                new HubException($"The Hub refused {target} (401 Unauthorized): the repository is private, gated or does not exist; set HF_TOKEN to a Hugging Face access token."),
            HttpStatusCode.Unauthorized =>
                new HubException($"The Hub rejected HF_TOKEN for {target} (401 Unauthorized): set HF_TOKEN to a valid access token with read access."),
            HttpStatusCode.Forbidden =>
                new HubException($"Access to {target} is denied (403 Forbidden): accept the model's terms on the Hub with the account of HF_TOKEN."),
            HttpStatusCode.NotFound when path is null =>
                new HubException($"Repository '{repo}' or revision '{revision}' not found on the Hub (404)."),
            HttpStatusCode.NotFound =>
                new HubException($"File '{path}' not found in {repo}@{revision} (404)."),
            _ => new HubException($"The Hub answered {(int)response.StatusCode} {response.ReasonPhrase} for {target}."),
        };
    }
}
