using System.Net.Sockets;
using Polly;
using Polly.Retry;

namespace FewStep.Cli.Hub;

/// <summary>
/// The retry policy of every Hub request and file transfer (Polly, rather than a hand-written loop): dropped,
/// reset or stalled connections, premature ends and 429/5xx answers are retried with exponential back-off and
/// jitter, a server's <c>Retry-After</c> honoured; a file transfer resumes from the bytes already on disk.
/// Anything else (404, 401, a checksum mismatch) fails at once.
/// </summary>
public static class HubRetry
{
    public static ResiliencePipeline Create(DownloadOptions options, Action<OnRetryArguments<object>>? onRetry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Retries <= 0)
        {
            return ResiliencePipeline.Empty;
        }

        return new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            MaxRetryAttempts = options.Retries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = options.FirstRetryDelay,
            MaxDelay = options.MaxRetryDelay,
            DelayGenerator = arguments => ValueTask.FromResult(
                arguments.Outcome.Exception is HubTransientException { RetryAfter: { } after }
                    ? (TimeSpan?)(after > options.MaxRetryAfter ? options.MaxRetryAfter : after)
                    : null),
            OnRetry = arguments =>
            {
                onRetry?.Invoke(arguments);
                return default;
            },
        }).Build();
    }

    /// <summary>Whether a failure passes with time: the network, the server being busy, a stall.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        HubTransientException or HttpRequestException or IOException or SocketException or TimeoutException => true,
        _ => false,
    };
}
