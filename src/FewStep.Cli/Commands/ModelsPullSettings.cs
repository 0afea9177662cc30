using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

public sealed class ModelsPullSettings : ModelRootSettings
{
    [CommandArgument(0, "<MODEL>")]
    [Description("Catalog model or LoRA name, or a Hub repository ORG/REPO[[:SUBFOLDER]][[@REVISION]] holding an ONNX export (optimum layout) or, with --file, a LoRA; REVISION is a branch, tag or commit.")]
    public string Model { get; set; } = string.Empty;

    [CommandOption("--subfolder <FOLDER>")]
    [Description("The folder of the repository that holds the export (model_index.json), when it is not the root.")]
    public string? Subfolder { get; set; }

    [CommandOption("--retries <N>")]
    [Description("Retries per request or file after a dropped, stalled or refused transfer (default 8, or FEWSTEP_PULL_RETRIES); each resumes where the last stopped.")]
    public int? Retries { get; set; }

    [CommandOption("--file <FILE>")]
    [Description("Pull one .safetensors file of the repository as a LoRA (e.g. sdxl_lightning_4step_lora.safetensors) into <model root>/loras/.")]
    public string? File { get; set; }

    [CommandOption("--dest <DIR>")]
    [Description("Destination folder (default: the catalog entry's folder, or <model root>/<REPO>); with --file or a LoRA name, the destination file.")]
    public string? Dest { get; set; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("Name a model or ORG/REPO to pull.")
        : Retries is < 0 or > 100 ? ValidationResult.Error("--retries must be 0 to 100.")
        : File is not null && !File.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? ValidationResult.Error("--file must name a .safetensors file of the repository.")
        : ValidationResult.Success();
}
