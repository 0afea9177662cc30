using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FewStep.Functions.Playground;

/// <summary>
/// <c>GET /api/playground</c>: one static page (HTML, CSS, JS embedded in the app, no build chain) that drives the
/// app's own API. Anonymous: it holds no secret — the user pastes a function key, which the page keeps in session
/// storage and sends as <c>x-functions-key</c>. A strict CSP keeps scripts and styles to these files.
/// </summary>
public static class PlaygroundApi
{
    public const string Route = "playground";

    private static readonly Dictionary<string, (string Resource, string ContentType)> s_assets = new(StringComparer.Ordinal)
    {
        ["playground.js"] = ("playground.js", "text/javascript; charset=utf-8"),
        ["playground.css"] = ("playground.css", "text/css; charset=utf-8"),
    };

    // Images are SAS URLs on the storage account (another origin; http for Azurite), previews data: URLs.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: https: http:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    [Function("Playground")]
    public static Task<IActionResult> Page([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Route)] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Task.FromResult<IActionResult>(Asset("playground.html", "text/html; charset=utf-8"));
    }

    [Function("PlaygroundAsset")]
    public static Task<IActionResult> File([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Route + "/{asset}")] HttpRequest request, string asset)
    {
        ArgumentNullException.ThrowIfNull(request);
        IActionResult result = asset is not null && s_assets.TryGetValue(asset, out var known)
            ? Asset(known.Resource, known.ContentType)
            : new StaticResult(StatusCodes.Status404NotFound, [], "text/plain; charset=utf-8");
        return Task.FromResult(result);
    }

    private static StaticResult Asset(string name, string contentType)
    {
        using var stream = typeof(PlaygroundApi).Assembly.GetManifestResourceStream($"FewStep.Functions.Playground.{name}")
            ?? throw new InvalidOperationException($"The playground file {name} is not embedded in the app.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return new StaticResult(StatusCodes.Status200OK, buffer.ToArray(), contentType)
        {
            Headers = { ["Content-Security-Policy"] = ContentSecurityPolicy, ["X-Content-Type-Options"] = "nosniff", ["Referrer-Policy"] = "no-referrer" },
        };
    }
}
