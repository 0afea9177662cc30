using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FewStep.Functions.Triggers;

/// <summary>
/// <c>GET /api/keys/check</c>: 204 when the Functions host let the request in, which at the function level means it
/// carried a valid function or host key. The host keeps the keys and checks them before the worker sees a request;
/// this is how the <c>/v1</c> routes, which must accept <c>Authorization: Bearer</c> (the host reads only
/// <c>x-functions-key</c> and <c>?code=</c>), have the host judge a key (<see cref="ApiKeyVerifier"/>).
/// </summary>
public static class KeyCheckApi
{
    public const string Route = "keys/check";

    [Function("CheckFunctionKey")]
    public static Task<IActionResult> Check([HttpTrigger(AuthorizationLevel.Function, "get", Route = Route)] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Task.FromResult<IActionResult>(new ApiResult(StatusCodes.Status204NoContent, null));
    }
}
