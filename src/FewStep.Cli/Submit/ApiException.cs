using FewStep.Cli.Infrastructure;

namespace FewStep.Cli.Submit;

/// <summary>The FewStep API refused a call; for <c>application/problem+json</c> answers the title, detail and field errors.</summary>
public sealed class ApiException : CliException
{
    public ApiException()
    {
    }

    public ApiException(string message)
        : base(message)
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ApiException(int status, string message, IReadOnlyDictionary<string, IReadOnlyList<string>> errors)
        : base(message)
    {
        Status = status;
        Errors = errors;
    }

    public int Status { get; }

    public IReadOnlyDictionary<string, IReadOnlyList<string>> Errors { get; } = new Dictionary<string, IReadOnlyList<string>>();
}
