using System.ComponentModel;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

/// <summary>Options every command that finds models shares.</summary>
public class ModelRootSettings : CommandSettings
{
    [CommandOption("--models-dir <DIR>")]
    [Description("Model root (default: $FEWSTEP_MODELS, else ~/.cache/fewstep/models); a catalog.json there extends the built-in catalog.")]
    public string? ModelsDir { get; set; }
}
