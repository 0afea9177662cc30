using System.ComponentModel;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

public sealed class ModelsListSettings : ModelRootSettings
{
    [CommandOption("--json")]
    [Description("Print one JSON document on stdout (nothing else goes there).")]
    public bool Json { get; set; }
}
