using FewStep.Cli.Hub;
using Spectre.Console;

namespace FewStep.Cli.Infrastructure;

/// <summary>
/// What commands get from outside: the console, the stream for machine-readable output, HTTP clients and the
/// environment. The program builds the real one; tests pass a test console, temporary folders and clients
/// pointed at a local server.
/// </summary>
public sealed class CliContext
{
    /// <summary>Progress, tables, messages.</summary>
    public required IAnsiConsole Console { get; init; }

    /// <summary>Error lines (one per failure), unwrapped.</summary>
    public required TextWriter Error { get; init; }

    /// <summary>Machine-readable output (PNG paths, JSON), unwrapped.</summary>
    public required TextWriter Out { get; init; }

    /// <summary>For the Hub: must not follow redirects itself (the Hub client does, to keep <c>X-Linked-Etag</c>).</summary>
    public required HttpClient HubHttp { get; init; }

    /// <summary>For a FewStep Functions app and the image URLs it returns.</summary>
    public required HttpClient ApiHttp { get; init; }

    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>Retries, back-off, stall timeout and the free-space probe of model pulls; tests make them short and small.</summary>
    public Hub.DownloadOptions Download { get; init; } = new();

    /// <summary>The default wait between status polls of <c>fewstep submit</c>.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    public HubOptions HubOptions() => Hub.HubOptions.FromEnvironment(Environment);

    /// <summary>The pull options, with the retries from <c>--retries</c> or else <c>FEWSTEP_PULL_RETRIES</c>.</summary>
    public Hub.DownloadOptions DownloadOptions(int? retries = null)
    {
        if (retries is { } given)
        {
            return Download with { Retries = given };
        }

        return int.TryParse(Environment("FEWSTEP_PULL_RETRIES"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var fromEnvironment)
            ? Download with { Retries = fromEnvironment }
            : Download;
    }
}
