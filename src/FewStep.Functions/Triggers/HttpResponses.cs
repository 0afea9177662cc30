using System.Net;
using System.Text.Json;
using FewStep.Functions.Contracts;
using Microsoft.Azure.Functions.Worker.Http;

namespace FewStep.Functions.Triggers;

/// <summary>JSON and problem responses, serialized here so every body has the same shape in the app and in tests.</summary>
internal static class HttpResponses
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public static async Task<HttpResponseData> JsonAsync<T>(HttpRequestData request, HttpStatusCode status, T body, CancellationToken cancellationToken, string contentType = "application/json; charset=utf-8")
    {
        var response = request.CreateResponse(status);
        response.Headers.Add("Content-Type", contentType);
        await response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(body, s_json), cancellationToken).ConfigureAwait(false);
        return response;
    }

    public static Task<HttpResponseData> ProblemAsync(
        HttpRequestData request,
        HttpStatusCode status,
        string title,
        string detail,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string[]>? errors = null) =>
        JsonAsync(request, status, new ProblemDetailsBody(TypeFor(status), title, (int)status, detail, errors), cancellationToken, "application/problem+json; charset=utf-8");

    private static string TypeFor(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        HttpStatusCode.NotFound => "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        HttpStatusCode.Conflict => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        HttpStatusCode.RequestEntityTooLarge => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        HttpStatusCode.UnsupportedMediaType => "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        HttpStatusCode.ServiceUnavailable => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        _ => "about:blank",
    };
}
