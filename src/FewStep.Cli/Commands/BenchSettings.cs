using System.ComponentModel;
using System.Globalization;
using FewStep.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

public sealed class BenchSettings : ModelRootSettings
{
    [CommandOption("-m|--model <MODEL>")]
    [Description("Catalog name (pulled when missing) or model folder.")]
    public string? Model { get; set; }

    [CommandOption("--steps <N>")]
    [Description("Denoising steps (default: the catalog's recommendation, else 1).")]
    public int? Steps { get; set; }

    [CommandOption("--size <WxH>")]
    [Description("Image size (default: the catalog's, else the model's own).")]
    public string? Size { get; set; }

    [CommandOption("--batch <B>")]
    [Description("Images per run; a comma list measures each, e.g. 1,4.")]
    [DefaultValue("1")]
    public string Batch { get; set; } = "1";

    [CommandOption("--runs <R>")]
    [Description("Measured runs per batch size.")]
    [DefaultValue(5)]
    public int Runs { get; set; } = 5;

    [CommandOption("--warmup <W>")]
    [Description("Unmeasured runs first.")]
    [DefaultValue(1)]
    public int Warmup { get; set; } = 1;

    [CommandOption("--guidance <G>")]
    [Description("Guidance scale (default: the catalog's recommendation, else 0).")]
    public float? Guidance { get; set; }

    [CommandOption("--device <DEVICE>")]
    [Description("cpu or cuda.")]
    [DefaultValue("cpu")]
    public string Device { get; set; } = "cpu";

    [CommandOption("--json")]
    [Description("Print one JSON object (median_ms, images_per_s, overhead_ratio, peak_working_set_mb, stages_ms, batches).")]
    public bool Json { get; set; }

    internal IReadOnlyList<int> BatchSizes { get; private set; } = [1];

    internal int? Width { get; private set; }

    internal int? Height { get; private set; }

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Model))
        {
            return ValidationResult.Error("--model is required.");
        }

        var sizes = new List<int>();
        foreach (var part in Batch.Split(','))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var b) || b < 1)
            {
                return ValidationResult.Error($"--batch takes sizes of at least 1, e.g. 1 or 1,4; not '{Batch}'.");
            }

            sizes.Add(b);
        }

        BatchSizes = sizes;
        if (Steps is < 1 || Runs < 1 || Warmup < 0)
        {
            return ValidationResult.Error("--steps and --runs must be at least 1, --warmup at least 0.");
        }

        if (Size is not null)
        {
            if (!SizeOption.TryParse(Size, out var width, out var height))
            {
                return ValidationResult.Error($"--size takes WIDTHxHEIGHT, e.g. 512x512, not '{Size}'.");
            }

            (Width, Height) = (width, height);
        }

        return DeviceOption.TryParse(Device, out _) ? ValidationResult.Success() : ValidationResult.Error($"--device must be cpu or cuda, not '{Device}'.");
    }
}
