using FewStep.Diffusion;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Imaging;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Previews;
using FewStep.Functions.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Rendering;

/// <summary>
/// Renders with the model's shared pipeline. How many batches render at once, and in which order, is the
/// render activity's business (<see cref="Queueing.FairRenderGate"/>); this only makes pixels and PNGs.
/// </summary>
public sealed partial class PipelineImageRenderer : IImageRenderer
{
    private readonly ModelRegistry _models;
    private readonly ILogger<PipelineImageRenderer> _logger;
    private readonly TimeSpan _previewInterval;

    public PipelineImageRenderer(ModelRegistry models, ILogger<PipelineImageRenderer> logger, IOptions<FewStepOptions>? options = null)
    {
        _models = models;
        _logger = logger;
        _previewInterval = options?.Value.PreviewInterval ?? TimeSpan.FromSeconds(1);
    }

    public Task<IReadOnlyList<RenderedImage>> RenderAsync(RenderJob job, CancellationToken cancellationToken) =>
        RenderAsync(job, null, cancellationToken);

    public async Task<IReadOnlyList<RenderedImage>> RenderAsync(RenderJob job, IProgress<RenderPreview>? previews, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!_models.TryGetEntry(job.Model, out var entry))
        {
            throw new DiffusionException($"model '{job.Model}' is not in this service's catalog.");
        }

        PipelineLease lease;
        try
        {
            lease = _models.AcquirePipeline(entry, job.Loras);
        }
        catch (DiffusionException e)
        {
            LogModelUnavailable(_logger, e, entry.Name);
            var with = job.Loras.Count == 0 ? string.Empty : $" with LoRAs {string.Join(", ", job.Loras.Select(l => l.Name))}";
            throw new ModelUnavailableException($"Model '{entry.Name}'{with} could not be loaded by the rendering worker; the service's logs have the details.", e);
        }

        using var _ = lease;
        var pipeline = lease.Pipeline;

        var items = job.Items;
        var request = new GenerationRequest
        {
            Prompts = items.Select(i => i.Prompt).ToArray(),
            Prompts2 = items.Any(i => i.Prompt2 is not null) ? items.Select(i => i.Prompt2 ?? i.Prompt).ToArray() : null,
            NegativePrompts = items.Any(i => i.NegativePrompt is not null) ? items.Select(i => i.NegativePrompt ?? string.Empty).ToArray() : null,
            NegativePrompts2 = items.Any(i => i.NegativePrompt2 is not null) ? items.Select(i => i.NegativePrompt2 ?? i.NegativePrompt ?? string.Empty).ToArray() : null,
            NumInferenceSteps = job.NumInferenceSteps,
            GuidanceScale = job.GuidanceScale,
            Width = job.Width,
            Height = job.Height,
            Scheduler = job.Scheduler,
            SchedulerOverrides = entry.SchedulerOverrides,
            UseResolutionBinning = job.UseResolutionBinning,
        };

        // The pipeline is synchronous (ONNX Runtime blocks); keep it off the caller's thread. It checks the token
        // between steps and terminates a running ONNX call when it fires.
        // The PNG is made on the denoising thread (it is part of the preview's budgeted cost); storage is the sink's.
        var observer = previews is null || _previewInterval <= TimeSpan.Zero ? null : new PreviewingObserver(pipeline.Previewer, _previewInterval,
            (step, image) => previews.Report(new RenderPreview(step.Index + 1, step.Count, image.Width, image.Height, image.Method, image.ToPng())), cancellationToken);
        var result = await Task.Run(() => pipeline.Generate(request, TorchNoiseSource.ForSeeds(items.Select(i => i.Seed), job.NoiseKernel), observer, cancellationToken), cancellationToken)
            .ConfigureAwait(false);
        if (observer is { Made: > 0 })
        {
            var denoising = result.Timings.Stages.Where(s => StageTiming.IsDenoiserStep(s.Stage)).Sum(s => s.Elapsed.TotalMilliseconds);
            LogPreviews(_logger, observer.Made, pipeline.Previewer.Method, observer.Spent.TotalMilliseconds, denoising);
        }

        return result.Images.Select((image, k) =>
        {
            var item = items[k];
            var parameters = new ImageParameters(item.Prompt, item.NegativePrompt, item.Seed, job.NumInferenceSteps, job.GuidanceScale, image.Width, image.Height, entry.Name,
                TorchNoiseSource.Name, TorchNoiseSource.KernelName(job.NoiseKernel))
            {
                Loras = LoraLabels(job.Loras, pipeline),
                Scheduler = SchedulerLabel(job.Scheduler),
            };
            return new RenderedImage(item, BinaryData.FromBytes(PngImageEncoder.Encode(image, parameters)));
        }).ToList();
    }

    // name:scale with the first 12 hex digits of the file's sha256, so an image says which version of the LoRA made it.
    internal static IReadOnlyList<string> LoraLabels(IReadOnlyList<Contracts.LoraChoice> loras, ITextToImagePipeline pipeline) =>
        loras.Select((l, i) => i < pipeline.Loras.Count
            ? FormattableString.Invariant($"{l.Name}:{l.Scale:R}@{pipeline.Loras[i].Sha256[..12]}")
            : FormattableString.Invariant($"{l.Name}:{l.Scale:R}")).ToList();

    internal static string? SchedulerLabel(IReadOnlyDictionary<string, System.Text.Json.JsonElement>? scheduler) =>
        scheduler is not null && scheduler.TryGetValue("_class_name", out var name) && name.ValueKind == System.Text.Json.JsonValueKind.String ? name.GetString() : null;

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Made {Count} {Method} previews in {PreviewMs} ms against {DenoiseMs} ms of denoising")]
    private static partial void LogPreviews(ILogger logger, int count, string method, double previewMs, double denoiseMs);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Model {Model} could not be loaded")]
    private static partial void LogModelUnavailable(ILogger logger, Exception exception, string model);
}
