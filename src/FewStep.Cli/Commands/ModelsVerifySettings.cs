using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

public sealed class ModelsVerifySettings : ModelRootSettings
{
    [CommandArgument(0, "<MODEL>")]
    [Description("Catalog name or model folder pulled by 'fewstep models pull'.")]
    public string Model { get; set; } = string.Empty;

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("Name a model or folder to verify.") : ValidationResult.Success();
}
