using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FewStep.Functions.Triggers;

/// <summary>
/// A JSON answer: status, headers and body, written in that order. Under the real Functions host (ASP.NET Core
/// integration) headers added after the body has started are dropped — which is how <c>Location</c> and
/// <c>Retry-After</c> went missing — so an answer is built whole first and only then executed. Hand-written
/// rather than MVC's ObjectResult: no content negotiation (always JSON), and no MVC services to register.
/// </summary>
public sealed class ApiResult : IActionResult
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public ApiResult(int statusCode, object? body, string contentType = "application/json; charset=utf-8")
    {
        StatusCode = statusCode;
        Body = body;
        ContentType = contentType;
    }

    public int StatusCode { get; }

    public object? Body { get; }

    public string ContentType { get; }

    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    public ApiResult WithHeader(string name, string value)
    {
        Headers[name] = value;
        return this;
    }

    public async Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        response.StatusCode = StatusCode;
        foreach (var (name, value) in Headers)
        {
            response.Headers[name] = value;
        }

        // Never cached by a proxy: statuses change and image URLs carry short-lived signatures.
        response.Headers.CacheControl = "no-store";
        if (Body is null)
        {
            response.ContentLength = 0;
            return;
        }

        var bytes = JsonSerializer.SerializeToUtf8Bytes(Body, Body.GetType(), s_json);
        response.ContentType = ContentType;
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, context.HttpContext.RequestAborted).ConfigureAwait(false);
    }
}
