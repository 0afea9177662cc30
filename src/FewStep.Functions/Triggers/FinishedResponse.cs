using Microsoft.AspNetCore.Http;

namespace FewStep.Functions.Triggers;

/// <summary>
/// Writes a whole answer in the order the real Functions host keeps: status and every header first, then the body.
/// Headers added after the body has started are dropped under ASP.NET Core integration (how <c>Location</c> and
/// <c>Retry-After</c> once went missing), so no answer of the app writes a header after its body.
/// </summary>
internal static class FinishedResponse
{
    /// <param name="body">The bytes of the body, or null for none (<c>Content-Length: 0</c>, no content type).</param>
    public static async Task WriteAsync(HttpContext context, int statusCode, IDictionary<string, string> headers, string cacheControl, string contentType, byte[]? body)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        foreach (var (name, value) in headers)
        {
            response.Headers[name] = value;
        }

        response.Headers.CacheControl = cacheControl;
        if (body is null)
        {
            response.ContentLength = 0;
            return;
        }

        response.ContentType = contentType;
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
