namespace FewStep.Cli.Hub;

/// <summary>A Hub answer worth retrying (429 or 5xx), with the wait the server asked for.</summary>
public sealed class HubTransientException : Exception
{
    public HubTransientException()
    {
    }

    public HubTransientException(string message)
        : base(message)
    {
    }

    public HubTransientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public HubTransientException(int status, string message, TimeSpan? retryAfter)
        : base(message)
    {
        Status = status;
        RetryAfter = retryAfter;
    }

    public int Status { get; }

    public TimeSpan? RetryAfter { get; }
}
