using FewStep.Cli;
using FewStep.Cli.Infrastructure;
using Spectre.Console;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C cancels cleanly (between steps, inside ONNX Runtime, mid-download); a second one kills.
    if (!cancellation.IsCancellationRequested)
    {
        e.Cancel = true;
        cancellation.Cancel();
    }
};

using var hubHttp = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(30) })
{
    Timeout = Timeout.InfiniteTimeSpan,
};
using var apiHttp = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30) })
{
    Timeout = TimeSpan.FromMinutes(5),
};
hubHttp.DefaultRequestHeaders.UserAgent.ParseAdd("fewstep/0.1");
apiHttp.DefaultRequestHeaders.UserAgent.ParseAdd("fewstep/0.1");

// Progress, tables and notes go to stderr; stdout carries only data (PNG paths, JSON), so `fewstep bench --json | jq .`
// and `fewstep models list --json` pipe cleanly.
var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
var context = new CliContext
{
    Console = console,
    Out = Console.Out,
    Error = Console.Error,
    HubHttp = hubHttp,
    ApiHttp = apiHttp,
};
return await CliApp.RunAsync(args, context, cancellation.Token).ConfigureAwait(false);
