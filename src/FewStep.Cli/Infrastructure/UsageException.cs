namespace FewStep.Cli.Infrastructure;

/// <summary>Wrong arguments found while running a command: usage is printed and the exit code is 2.</summary>
public sealed class UsageException : Exception
{
    public UsageException()
    {
    }

    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
