using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace FewStep.Functions.Triggers;

/// <summary>Reads a request body up to a limit, so an oversized upload is refused without being buffered whole.</summary>
internal static class RequestBody
{
    private static readonly JsonDocumentOptions s_json = new() { MaxDepth = 64 };

    /// <summary>
    /// The body as a JSON document, or the problem of a body too large (413), not UTF-8 or not JSON (400, naming
    /// the line and position).
    /// </summary>
    public static async Task<JsonBody> ReadJsonAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        var body = await ReadAsync(request, limit, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return new JsonBody(null, ApiResponses.Problem(StatusCodes.Status413PayloadTooLarge, "The request body is too large.",
                $"A request body may be at most {limit} bytes."));
        }

        // JsonDocument does not check the UTF-8 inside strings; reading such a string later would throw.
        if (!Utf8.IsValid(body))
        {
            return new JsonBody(null, ApiResponses.Invalid("body", "is not valid UTF-8."));
        }

        try
        {
            return new JsonBody(JsonDocument.Parse(body, s_json), null);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1}, position {e.BytePositionInLine + 1})" : string.Empty;
            return new JsonBody(null, ApiResponses.Invalid("body", $"is not valid JSON{where}."));
        }
    }

    /// <summary>The body, or null when it is longer than <paramref name="limit"/> bytes.</summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared && declared > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
