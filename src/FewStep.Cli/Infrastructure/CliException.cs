namespace FewStep.Cli.Infrastructure;

/// <summary>A runtime failure the CLI reports as one line and exit code 1.</summary>
public class CliException : Exception
{
    public CliException()
    {
    }

    public CliException(string message)
        : base(message)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
