using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

public sealed class SubmitSettings : CommandSettings
{
    [CommandArgument(0, "<JOB>")]
    [Description("JOB.json (one request or {\"requests\": [[...]]}) or JOB.jsonl (one request per line).")]
    public string Job { get; set; } = string.Empty;

    [CommandOption("--endpoint <URL>")]
    [Description("The FewStep Functions app, e.g. https://myapp.azurewebsites.net (default: $FEWSTEP_ENDPOINT).")]
    public string? Endpoint { get; set; }

    [CommandOption("--key <KEY>")]
    [Description("Function key, sent as x-functions-key (default: $FEWSTEP_FUNCTIONS_KEY).")]
    public string? Key { get; set; }

    [CommandOption("-o|--out <DIR>")]
    [Description("Where images go: <DIR>/<id>/<prompt_index>-<image_index>.png.")]
    [DefaultValue("fewstep-out")]
    public string Out { get; set; } = "fewstep-out";

    [CommandOption("--poll-interval <SECONDS>")]
    [Description("Seconds between status polls (a Retry-After from the server wins). Default: 1.")]
    public double? PollInterval { get; set; }

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Job))
        {
            return ValidationResult.Error("Name a job file.");
        }

        if (Endpoint is not null && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            return ValidationResult.Error($"--endpoint must be an http(s) URL, not '{Endpoint}'.");
        }

        return PollInterval is <= 0 or > 600 ? ValidationResult.Error("--poll-interval must be between 0 and 600 seconds.") : ValidationResult.Success();
    }
}
