using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

public sealed class ModelsPullSettings : ModelRootSettings
{
    [CommandArgument(0, "<MODEL>")]
    [Description("Catalog name, or a Hub repository ORG/REPO[[@REVISION]] holding an ONNX export (optimum layout).")]
    public string Model { get; set; } = string.Empty;

    [CommandOption("--dest <DIR>")]
    [Description("Destination folder (default: the catalog entry's folder, or <model root>/<REPO>).")]
    public string? Dest { get; set; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("Name a model or ORG/REPO to pull.") : ValidationResult.Success();
}
