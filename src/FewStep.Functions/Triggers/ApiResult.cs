using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FewStep.Functions.Triggers;

/// <summary>
/// A JSON answer: status, headers and body, built whole first and only then written (<see cref="FinishedResponse"/>). Hand-written
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

    public Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Never cached by a proxy: statuses change and image URLs carry short-lived signatures.
        return FinishedResponse.WriteAsync(context.HttpContext, StatusCode, Headers, "no-store", ContentType,
            Body is null ? null : JsonSerializer.SerializeToUtf8Bytes(Body, Body.GetType(), s_json));
    }
}
