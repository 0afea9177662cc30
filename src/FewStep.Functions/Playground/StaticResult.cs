using Microsoft.AspNetCore.Mvc;

namespace FewStep.Functions.Playground;

/// <summary>Fixed bytes with their content type and headers, all set before the body is written (<see cref="Triggers.FinishedResponse"/>).</summary>
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

    public Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // A new deployment may change the page; a browser revalidates rather than keeping a stale one.
        return Triggers.FinishedResponse.WriteAsync(context.HttpContext, StatusCode, Headers, "no-cache", ContentType, Body);
    }
}
