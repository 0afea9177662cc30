using System.Net.Sockets;
using Azure;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Triggers;

/// <summary>
/// The last word on every HTTP answer: storage or the durable backend being unreachable is a 503 with
/// <c>Retry-After</c> (the client should retry; nothing was lost), a bug is a 500 problem without internals, and
/// a client that hung up gets nothing. A client's mistake never reaches here: the handlers answer it with a 4xx.
/// </summary>
public static partial class ApiGuard
{
    private static readonly TimeSpan s_outageRetryAfter = TimeSpan.FromSeconds(10);

    public static async Task<IActionResult> RunAsync(HttpRequest request, ILogger logger, Func<CancellationToken, Task<IActionResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(handler);
        var aborted = request.HttpContext.RequestAborted;
        try
        {
            return await handler(aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // 499 in nginx's terms: the client went away, nobody reads this.
            return new ApiResult(499, null);
        }
        catch (Exception e) when (IsOutage(e))
        {
            LogOutage(logger, e, request.Method, request.Path);
            return ApiResponses.Problem(StatusCodes.Status503ServiceUnavailable, "The service's storage is unavailable.",
                    "The request could not be served because storage did not answer; nothing was changed. Try again shortly.")
                .WithHeader("Retry-After", ApiResponses.Seconds(s_outageRetryAfter));
        }
        catch (Exception e)
        {
            LogFailure(logger, e, request.Method, request.Path);
            return ApiResponses.Problem(StatusCodes.Status500InternalServerError, "The service failed.",
                $"An internal error occurred and was logged (trace {request.HttpContext.TraceIdentifier}).");
        }
    }

    /// <summary>Storage (blobs, or the durable backend behind the host) unreachable, slow or throttling.</summary>
    public static bool IsOutage(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case RequestFailedException storage when storage.Status is 0 or 408 or 429 or >= 500:
                case RpcException rpc when rpc.StatusCode is not StatusCode.Cancelled and not StatusCode.InvalidArgument and not StatusCode.NotFound:
                case HttpRequestException or SocketException or TimeoutException or IOException:
                    return true;
                case AggregateException aggregate when aggregate.InnerExceptions.Any(IsOutage):
                    return true;
            }
        }

        return false;
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "{Method} {Path}: storage unavailable; answered 503")]
    private static partial void LogOutage(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Error, Message = "{Method} {Path} failed; answered 500")]
    private static partial void LogFailure(ILogger logger, Exception exception, string method, string path);
}
