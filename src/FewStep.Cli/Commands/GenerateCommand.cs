using System.Globalization;
using FewStep.Cli.Generation;
using FewStep.Cli.Infrastructure;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Imaging;
using FewStep.Onnx.Lora;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Previews;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

/// <summary><c>fewstep generate "prompt"</c>: runs the pipeline locally, one progress bar per image, PNGs with their parameters.</summary>
public sealed class GenerateCommand(CliContext cli) : AsyncCommand<GenerateSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, GenerateSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var store = ModelStore.Open(settings.ModelsDir, cli.Environment);
        var model = store.Resolve(settings.Model);
        var entry = model.Entry;
        var steps = settings.Steps ?? entry?.Steps ?? 1;
        var guidance = settings.Guidance ?? entry?.GuidanceScale ?? 0f;
        var width = settings.Width ?? entry?.Width;
        var height = settings.Height ?? entry?.Height;
        if (entry is not null)
        {
            CheckLimits(entry, steps, guidance, width, height);
        }

        var provider = DeviceOption.Parse(settings.Device);
        await ModelPuller.EnsureOnDiskAsync(cli, model, cancellationToken).ConfigureAwait(false);

        // The catalog model's own LoRAs first (base SDXL + LCM-LoRA), then --lora in order; catalog LoRAs are pulled.
        var loras = (entry?.Loras ?? []).Select(l => (Lora: store.ResolveLora(l.Name), l.Scale))
            .Concat(settings.LoraScales.Select(l => (Lora: store.ResolveLora(l.Lora), l.Scale))).ToList();
        foreach (var (lora, _) in loras)
        {
            await ModelPuller.EnsureLoraOnDiskAsync(cli, lora, cancellationToken).ConfigureAwait(false);
        }

        var scheduler = settings.Scheduler is { } schedulerClass
            ? new Dictionary<string, System.Text.Json.JsonElement> { ["_class_name"] = System.Text.Json.JsonSerializer.SerializeToElement(schedulerClass) }
            : entry?.Scheduler;

        var seed = settings.Seed ?? Random.Shared.NextInt64(0, uint.MaxValue);
        if (settings.Seed is null)
        {
            cli.Console.MarkupLineInterpolated($"seed [bold]{seed}[/] (random)");
        }

        var outDir = Path.GetFullPath(settings.Out ?? ".");
        Directory.CreateDirectory(outDir);
        using var pipeline = await PipelineLoader.LoadAsync(cli, model, provider, loras.Select(l => new LoraSpec(l.Lora.Path, l.Scale)).ToList(), cancellationToken).ConfigureAwait(false);
        var request = new GenerationRequest
        {
            Prompts = [settings.Prompt],
            NegativePrompts = settings.Negative is null ? null : [settings.Negative],
            NumInferenceSteps = steps,
            GuidanceScale = guidance,
            Width = width,
            Height = height,
            Scheduler = scheduler,
            SchedulerOverrides = entry?.SchedulerOverrides,
            UseResolutionBinning = settings.ResolutionBinning,
        };

        var images = new List<GeneratedImage>();
        var paths = new List<string>();
        var slug = OutputNames.Slug(settings.Prompt);
        await cli.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var tasks = Enumerable.Range(0, settings.Count)
                    .Select(k => ctx.AddTask(string.Create(CultureInfo.InvariantCulture, $"image {k + 1}/{settings.Count} (seed {seed + k})"), autoStart: false, maxValue: steps))
                    .ToArray();
                for (var k = 0; k < settings.Count; k++)
                {
                    var task = tasks[k];
                    task.StartTask();
                    var imageSeed = seed + k;
                    var result = await Task.Run(
                        () => pipeline.Generate(request, TorchNoiseSource.ForSeeds([imageSeed], settings.Kernel), new StepProgress(task, pipeline.Previewer, cancellationToken), cancellationToken),
                        cancellationToken).ConfigureAwait(false);
                    var image = result.Images[0];
                    var parameters = new ImageParameters(settings.Prompt, settings.Negative, imageSeed, steps, guidance, image.Width, image.Height, model.Name,
                        TorchNoiseSource.Name, TorchNoiseSource.KernelName(settings.Kernel))
                    {
                        Loras = loras.Select((l, i) => FormattableString.Invariant($"{l.Lora.Name}:{l.Scale:R}@{pipeline.Loras[i].Sha256[..12]}")).ToList(),
                        Scheduler = settings.Scheduler ?? (scheduler is not null && scheduler.TryGetValue("_class_name", out var c) ? c.GetString() : null),
                    };
                    var path = OutputNames.Unique(outDir, string.Create(CultureInfo.InvariantCulture, $"{slug}-{imageSeed}"));
                    await WriteAtomicallyAsync(path, PngImageEncoder.Encode(image, parameters), cancellationToken).ConfigureAwait(false);
                    images.Add(image);
                    paths.Add(path);
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            }).ConfigureAwait(false);

        foreach (var path in paths)
        {
            await cli.Out.WriteLineAsync(path).ConfigureAwait(false);
        }

        if (images.Count > 1)
        {
            var sheetPath = OutputNames.Unique(outDir, string.Create(CultureInfo.InvariantCulture, $"{slug}-{seed}-sheet"));
            ContactSheet.Save(ContactSheet.Compose(images), sheetPath);
            cli.Console.MarkupLineInterpolated($"contact sheet: {sheetPath}");
            await cli.Out.WriteLineAsync(sheetPath).ConfigureAwait(false);
        }

        return 0;
    }

    internal static async Task WriteAtomicallyAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        var temporary = path + ".tmp";
        await File.WriteAllBytesAsync(temporary, bytes, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }

    private static void CheckLimits(Diffusion.Catalog.ModelCatalogEntry entry, int steps, float guidance, int? width, int? height)
    {
        if (steps < entry.MinSteps || steps > entry.MaxSteps)
        {
            throw new UsageException($"Model '{entry.Name}' takes {entry.MinSteps} to {entry.MaxSteps} steps, not {steps}.");
        }

        if (guidance > entry.MaxGuidanceScale)
        {
            throw new UsageException($"Model '{entry.Name}' takes a guidance scale up to {entry.MaxGuidanceScale.ToString(CultureInfo.InvariantCulture)}, not {guidance.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (width > entry.MaxWidth || height > entry.MaxHeight)
        {
            throw new UsageException($"Model '{entry.Name}' makes images up to {entry.MaxWidth}x{entry.MaxHeight}, not {width}x{height}.");
        }
    }

    // The step count, and the live preview's progress as the service makes it (same previewer, same budget): the
    // terminal shows no image, only which step the latest preview is of.
    private sealed class StepProgress : IPipelineObserver
    {
        private readonly ProgressTask _task;
        private readonly string _description;
        private readonly PreviewingObserver _previews;

        public StepProgress(ProgressTask task, LatentPreviewer previewer, CancellationToken cancellationToken)
        {
            _task = task;
            _description = task.Description;
            _previews = new PreviewingObserver(previewer, TimeSpan.FromSeconds(1), (step, image) =>
                _task.Description = string.Create(CultureInfo.InvariantCulture, $"{_description} · preview of step {step.Index + 1}/{step.Count} ({image.Method}, {image.Width}x{image.Height})"),
                cancellationToken);
        }

        public void OnInitialLatents(ReadOnlyMemory<float> latents) => _previews.OnInitialLatents(latents);

        public void OnStep(DenoisingStep step)
        {
            _task.Value = step.Index + 1;
            _previews.OnStep(step);
        }
    }
}
