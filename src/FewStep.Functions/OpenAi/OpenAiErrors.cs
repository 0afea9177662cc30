using FewStep.Functions.Contracts;
using FewStep.Functions.Triggers;
using Microsoft.AspNetCore.Http;

namespace FewStep.Functions.OpenAi;

/// <summary>
/// Errors in OpenAI's shape with the HTTP status OpenAI uses, so OpenAI clients raise their typed exceptions:
/// 400 <c>invalid_request_error</c> naming <c>param</c>, 401 <c>invalid_api_key</c>, 404 <c>model_not_found</c>, 429
/// <c>rate_limit_exceeded</c>, 500/503 <c>server_error</c>. The app's own problems (RFC 9457) are translated, headers kept.
/// </summary>
public static class OpenAiErrors
{
    public const string InvalidRequest = "invalid_request_error";
    public const string ServerError = "server_error";

    public static ApiResult Invalid(string? param, string message, string? code = null) =>
        Error(StatusCodes.Status400BadRequest, message, InvalidRequest, param, code);

    public static ApiResult Unauthorized(string message) =>
        Error(StatusCodes.Status401Unauthorized, message, InvalidRequest, null, "invalid_api_key")
            .WithHeader("WWW-Authenticate", "Bearer");

    public static ApiResult ModelNotFound(string message) =>
        Error(StatusCodes.Status404NotFound, message, InvalidRequest, "model", "model_not_found");

    public static ApiResult Error(int status, string message, string type, string? param, string? code) =>
        new(status, new OpenAiErrorBody(new OpenAiError(message, type, param, code)));

    /// <summary>An answer of the app's own API (a problem, from a shared check or <see cref="ApiGuard"/>) in OpenAI's shape.</summary>
    public static ApiResult From(ApiResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Body is not ProblemDetailsBody problem)
        {
            return result;
        }

        var param = problem.Errors?.Keys.FirstOrDefault();
        var (type, code) = problem.Status switch
        {
            401 => (InvalidRequest, "invalid_api_key"),
            404 => (InvalidRequest, "not_found"),
            413 => (InvalidRequest, "request_too_large"),
            422 => (InvalidRequest, "idempotency_key_reused"),
            429 => ("requests", "rate_limit_exceeded"),
            503 => (ServerError, "service_unavailable"),
            >= 500 => (ServerError, null),
            _ => (InvalidRequest, (string?)null),
        };
        var translated = Error(problem.Status, problem.Detail, type, param, code);
        foreach (var (name, value) in result.Headers)
        {
            translated.WithHeader(name, value);
        }

        return translated;
    }
}
