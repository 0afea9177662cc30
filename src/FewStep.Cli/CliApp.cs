using FewStep.Cli.Commands;
using FewStep.Cli.Infrastructure;
using FewStep.Diffusion;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli;

/// <summary>
/// The <c>fewstep</c> commands and their exit codes: 0 success, 1 a runtime failure (one line on the console),
/// 2 wrong arguments (the message and the command's usage), 130 canceled (Ctrl+C).
/// </summary>
public static class CliApp
{
    public const int Success = 0;
    public const int RuntimeError = 1;
    public const int UsageError = 2;
    public const int Canceled = 130;

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        var app = Create(context);
        try
        {
            return await app.RunAsync(args, cancellationToken).ConfigureAwait(false);
        }
        catch (CommandAppException e)
        {
            return await UsageAsync(context, args, e.Message, cancellationToken).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            return await UsageAsync(context, args, e.Message, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync("canceled").ConfigureAwait(false);
            return Canceled;
        }
        catch (Exception e) when (IsRuntimeFailure(e))
        {
            await context.Error.WriteLineAsync($"error: {OneLine(e.Message)}").ConfigureAwait(false);
            return RuntimeError;
        }
    }

    private static bool IsRuntimeFailure(Exception e) =>
        e is CliException or DiffusionException or HttpRequestException or IOException or UnauthorizedAccessException
            or System.Text.Json.JsonException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or TimeoutException or InvalidOperationException;

    private static string OneLine(string message) => string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));

    private static async Task<int> UsageAsync(CliContext context, string[] args, string message, CancellationToken cancellationToken)
    {
        await context.Error.WriteLineAsync($"error: {OneLine(message)}").ConfigureAwait(false);
        var commandPath = args.TakeWhile(a => !a.StartsWith('-')).Take(args.FirstOrDefault() == "models" ? 2 : 1)
            .Where(a => a is "generate" or "models" or "list" or "pull" or "verify" or "bench" or "submit").ToArray();
        try
        {
            await Create(context).RunAsync([.. commandPath, "--help"], cancellationToken).ConfigureAwait(false);
        }
        catch (CommandAppException)
        {
            await Create(context).RunAsync(["--help"], cancellationToken).ConfigureAwait(false);
        }

        return UsageError;
    }

    private static CommandApp Create(CliContext context)
    {
        var registrar = new TypeRegistrar();
        registrar.RegisterInstance(typeof(CliContext), context);
        var app = new CommandApp(registrar);
        app.Configure(config =>
        {
            config.SetApplicationName("fewstep");
            config.ConfigureConsole(context.Console);
            config.PropagateExceptions();
            config.Settings.StrictParsing = true;
            config.AddCommand<GenerateCommand>("generate")
                .WithDescription("Generate images locally with a few-step model.")
                .WithExample("generate", "\"a red fox in the snow\"", "--model", "sdxl-turbo", "--count", "4", "--seed", "42");
            config.AddBranch("models", models =>
            {
                models.SetDescription("List and download models.");
                models.AddCommand<ModelsListCommand>("list").WithDescription("Local models and catalog entries with their recommended settings.");
                models.AddCommand<ModelsPullCommand>("pull")
                    .WithDescription("Download an ONNX export from the Hugging Face Hub (resumable, sha256-verified).")
                    .WithExample("models", "pull", "sdxl-turbo")
                    .WithExample("models", "pull", "SimianLuo/LCM_Dreamshaper_v7@main", "--dest", "./models/lcm")
                    .WithExample("models", "pull", "org/repo:onnx@v1.0");
                models.AddCommand<ModelsVerifyCommand>("verify")
                    .WithDescription("Re-hash a pulled folder against the record of its pull.")
                    .WithExample("models", "verify", "sd-turbo");
            });
            config.AddCommand<BenchCommand>("bench")
                .WithDescription("Benchmark the pipeline: per-stage medians, images/s, overhead ratio.")
                .WithExample("bench", "--model", "sd-turbo", "--steps", "1", "--size", "512x512", "--batch", "1,4", "--runs", "10", "--json");
            config.AddCommand<SubmitCommand>("submit")
                .WithDescription("Submit a job to a running FewStep Functions app and download the images.")
                .WithExample("submit", "job.json", "--endpoint", "https://myapp.azurewebsites.net", "--key", "KEY");
        });
        return app;
    }
}
