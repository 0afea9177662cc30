using FewStep.Cli.Infrastructure;
using Spectre.Console.Testing;

namespace FewStep.Cli.Tests;

/// <summary>Runs <c>fewstep</c> in-process with a test console, captured output and a fixed environment.</summary>
internal sealed class CliRunner : IDisposable
{
    private readonly HttpClient _hubHttp = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
    private readonly HttpClient _apiHttp = new() { Timeout = TimeSpan.FromSeconds(30) };

    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>An interactive console, as a terminal is: progress bars render live (their text lands in the output).</summary>
    public bool Interactive { get; set; }

    /// <summary>Pull options: short waits and a short stall timeout, so retries cost milliseconds.</summary>
    public FewStep.Cli.Hub.DownloadOptions Download { get; set; } = new()
    {
        Retries = 3,
        FirstRetryDelay = TimeSpan.FromMilliseconds(10),
        MaxRetryDelay = TimeSpan.FromMilliseconds(50),
        ReadTimeout = TimeSpan.FromSeconds(1),
        MaxRetryAfter = TimeSpan.FromSeconds(2),
    };

    public void Dispose()
    {
        _hubHttp.Dispose();
        _apiHttp.Dispose();
    }

    public async Task<CliResult> RunAsync(params string[] args)
    {
        var console = new TestConsole();
        console.Profile.Width = 200;
        if (Interactive)
        {
            console.Interactive();
        }
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new CliContext
        {
            Console = console,
            Out = output,
            Error = error,
            HubHttp = _hubHttp,
            ApiHttp = _apiHttp,
            Environment = name => Environment.TryGetValue(name, out var value) ? value : null,
            Download = Download,
            PollInterval = TimeSpan.FromMilliseconds(20),
        };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var code = await CliApp.RunAsync(args, context, timeout.Token);
        return new CliResult(code, console.Output, output.ToString(), error.ToString());
    }
}

internal sealed record CliResult(int ExitCode, string Console, string Out, string Error)
{
    public string[] OutLines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
