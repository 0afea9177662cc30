using System.Globalization;
using FewStep.Functions.Contracts;
using Microsoft.AspNetCore.Http;

namespace FewStep.Functions.Triggers;

/// <summary>The API's answers, in one place so every problem has the same shape (RFC 9457).</summary>
public static class ApiResponses
{
    public const string ProblemContentType = "application/problem+json; charset=utf-8";

    public static ApiResult Json(int status, object body) => new(status, body);

    public static ApiResult Problem(int status, string title, string detail, IReadOnlyDictionary<string, string[]>? errors = null) =>
        new(status, new ProblemDetailsBody(TypeFor(status), title, status, detail, errors), ProblemContentType);

    /// <summary>A 400 naming one field.</summary>
    public static ApiResult Invalid(string field, string message) =>
        Problem(StatusCodes.Status400BadRequest, "The generation request is invalid.", $"{field} {message}", new Dictionary<string, string[]> { [field] = [message] });

    public static ApiResult NotFound(string title, string detail) => Problem(StatusCodes.Status404NotFound, title, detail);

    /// <summary>Seconds for a <c>Retry-After</c> header (at least 1).</summary>
    public static string Seconds(TimeSpan delay) => Math.Max(1, (int)Math.Ceiling(delay.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static string TypeFor(int status) => status switch
    {
        400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        404 => "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        409 => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        413 => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        415 => "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        422 => "https://tools.ietf.org/html/rfc9110#section-15.5.21",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        500 => "https://tools.ietf.org/html/rfc9110#section-15.6.1",
        503 => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        _ => "about:blank",
    };
}
