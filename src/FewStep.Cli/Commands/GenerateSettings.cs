using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using FewStep.Cli.Infrastructure;

namespace FewStep.Cli.Commands;

public sealed class GenerateSettings : ModelRootSettings
{
    [CommandArgument(0, "<PROMPT>")]
    [Description("What to draw.")]
    public string Prompt { get; set; } = string.Empty;

    [CommandOption("-m|--model <MODEL>")]
    [Description("Catalog name (pulled when missing) or model folder. Default: sd-turbo.")]
    public string Model { get; set; } = "sd-turbo";

    [CommandOption("--steps <N>")]
    [Description("Denoising steps (default: the catalog's recommendation; 1 for a folder).")]
    public int? Steps { get; set; }

    [CommandOption("--guidance <G>")]
    [Description("Guidance scale (default: the catalog's recommendation; 0 for a folder).")]
    public float? Guidance { get; set; }

    [CommandOption("--size <WxH>")]
    [Description("Image size, e.g. 512x512 (default: the catalog's, else the model's own).")]
    public string? Size { get; set; }

    [CommandOption("--seed <S>")]
    [Description("Seed of the first image; image k gets S+k (default: random, printed). The same noise as diffusers with torch.Generator(\"cpu\").manual_seed(S+k); as in PyTorch only the seed modulo 2^32 counts.")]
    public long? Seed { get; set; }

    [CommandOption("--noise-kernel <KERNEL>")]
    [Description("Which of torch's CPU normal kernels to reproduce: avx2 (x86-64 with AVX2, the default) or default (ARM, no AVX2).")]
    [DefaultValue("avx2")]
    public string NoiseKernel { get; set; } = "avx2";

    internal FewStep.Diffusion.Noise.TorchNormalKernel Kernel { get; private set; }

    [CommandOption("-n|--count <N>")]
    [Description("Number of images (a contact sheet is written when more than one).")]
    [DefaultValue(1)]
    public int Count { get; set; } = 1;

    [CommandOption("--negative <TEXT>")]
    [Description("Negative prompt.")]
    public string? Negative { get; set; }

    [CommandOption("--resolution-binning")]
    [Description("PixArt only: generate at the closest of the model's aspect-ratio bins and resize back to --size (diffusers use_resolution_binning).")]
    public bool ResolutionBinning { get; set; }

    [CommandOption("-o|--out <DIR>")]
    [Description("Output folder (default: current folder).")]
    public string? Out { get; set; }

    [CommandOption("--device <DEVICE>")]
    [Description("cpu or cuda (falls back to CPU with a warning when CUDA is unusable).")]
    [DefaultValue("cpu")]
    public string Device { get; set; } = "cpu";

    [CommandOption("--lora <LORA>")]
    [Description("A LoRA to merge into the model, as FILE or NAME (catalog or <model root>/loras/NAME.safetensors) with an optional :SCALE (default 1), e.g. --lora ./style.safetensors:0.8. Repeatable.")]
    public string[] Loras { get; set; } = [];

    [CommandOption("--scheduler <CLASS>")]
    [Description("Replace the model's scheduler (its config laid over the folder's, as diffusers' from_config): LCMScheduler for LCM-LoRA, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler.")]
    public string? Scheduler { get; set; }

    internal IReadOnlyList<(string Lora, float Scale)> LoraScales { get; private set; } = [];

    internal int? Width { get; private set; }

    internal int? Height { get; private set; }

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Prompt))
        {
            return ValidationResult.Error("The prompt is empty.");
        }

        if (Steps is < 1)
        {
            return ValidationResult.Error("--steps must be at least 1.");
        }

        if (Guidance is { } g && (!float.IsFinite(g) || g < 0))
        {
            return ValidationResult.Error("--guidance must be a number ≥ 0.");
        }

        if (!FewStep.Diffusion.Noise.TorchNoiseSource.TryParseKernel(NoiseKernel, out var kernel))
        {
            return ValidationResult.Error($"--noise-kernel must be avx2 or default, not '{NoiseKernel}'.");
        }

        Kernel = kernel;
        if (Seed is < 0)
        {
            return ValidationResult.Error("--seed must be 0 or more.");
        }

        if (Count is < 1 or > 256)
        {
            return ValidationResult.Error("--count must be between 1 and 256.");
        }

        var loras = new List<(string, float)>();
        foreach (var value in Loras)
        {
            if (!LoraOption.TryParse(value, out var lora, out var scale))
            {
                return ValidationResult.Error($"--lora takes FILE or NAME with an optional :SCALE (a number from -8 to 8), not '{value}'.");
            }

            loras.Add((lora, scale));
        }

        LoraScales = loras;
        if (Scheduler is not null && !FewStep.Diffusion.Schedulers.SchedulerFactory.SupportedClasses.Contains(Scheduler))
        {
            return ValidationResult.Error($"--scheduler must be one of {string.Join(", ", FewStep.Diffusion.Schedulers.SchedulerFactory.SupportedClasses)}, not '{Scheduler}'.");
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
