using FewStep.Cli.Infrastructure;

namespace FewStep.Cli.Hub;

/// <summary>A Hub request or download that failed: authentication, not found, server errors, checksum mismatch.</summary>
public sealed class HubException : CliException
{
    public HubException()
    {
    }

    public HubException(string message)
        : base(message)
    {
    }

    public HubException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
