namespace FewStep.Functions.Orchestration;

/// <summary>
/// A failure worth retrying (storage 5xx or timeout, GPU out of memory, a webhook endpoint that did not answer).
/// Activities wrap such errors in it; the durable retry policy retries only these, so a user's mistake fails
/// at once with its own message.
/// </summary>
public sealed class TransientFailureException : Exception
{
    public TransientFailureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public TransientFailureException(string message)
        : base(message)
    {
    }

    public TransientFailureException()
    {
    }
}
