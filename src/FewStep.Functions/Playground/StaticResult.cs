using Microsoft.AspNetCore.Mvc;

namespace FewStep.Functions.Playground;

/// <summary>Fixed bytes with their content type and headers, all set before the body is written (see <see cref="Triggers.ApiResult"/>).</summary>
public sealed class StaticResult : IActionResult
{
    public StaticResult(int statusCode, byte[] body, string contentType)
    {
        StatusCode = statusCode;
        Body = body;
        ContentType = contentType;
    }

    public int StatusCode { get; }

    public byte[] Body { get; }

    public string ContentType { get; }

    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    public async Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        response.StatusCode = StatusCode;
        foreach (var (name, value) in Headers)
        {
            response.Headers[name] = value;
        }

        // A new deployment may change the page; a browser revalidates rather than keeping a stale one.
        response.Headers.CacheControl = "no-cache";
        response.ContentType = ContentType;
        response.ContentLength = Body.Length;
        await response.Body.WriteAsync(Body, context.HttpContext.RequestAborted).ConfigureAwait(false);
    }
}
