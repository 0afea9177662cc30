namespace FewStep.Cli.Hub;

/// <summary>
/// A file download's answer, and what the Hub said about the file on the way (<c>X-Linked-Etag</c>: the LFS
/// sha256; <c>X-Linked-Size</c>), which a redirect to a CDN would otherwise lose.
/// </summary>
public sealed class HubFileResponse(HttpResponseMessage response, string? etag, long? linkedSize) : IDisposable
{
    public HttpResponseMessage Response { get; } = response;

    /// <summary>The ETag the Hub gave (quotes and <c>W/</c> kept as sent).</summary>
    public string? ETag { get; } = etag;

    public long? LinkedSize { get; } = linkedSize;

    /// <summary>The sha256 the ETag carries, when it is one (64 hex digits; git blob ETags are 40 and say nothing here).</summary>
    public string? Sha256
    {
        get
        {
            var value = ETag?.Trim();
            if (value is null)
            {
                return null;
            }

            if (value.StartsWith("W/", StringComparison.Ordinal))
            {
                value = value[2..];
            }

            value = value.Trim('"');
            return value.Length == 64 && value.All(char.IsAsciiHexDigit) ? value.ToLowerInvariant() : null;
        }
    }

    public void Dispose() => Response.Dispose();
}
