using System.Globalization;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;

namespace FewStep.Functions.Plans;

/// <summary>A plan ready to turn a batch index into a render job, blob names and blob metadata.</summary>
public sealed class LoadedRunPlan
{
    public LoadedRunPlan(RunPlan plan, string prefix)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Plan = plan;
        Prefix = prefix;
    }

    public RunPlan Plan { get; }

    public string Prefix { get; }

    /// <summary>The render job of batch <paramref name="index"/>: its images share model, steps, guidance and size.</summary>
    public RenderJob RenderJob(int index)
    {
        var images = Batch(index);
        var first = Plan.Requests[images[0].Request].Spec;
        var items = images.Select(image =>
        {
            var spec = Plan.Requests[image.Request].Spec;
            var p = image.PromptIndex;
            return new RenderItem(p, image.ImageIndex, spec.ImageSeed(p, image.ImageIndex), spec.Prompts[p], spec.Prompts2?[p], spec.NegativePrompts?[p], spec.NegativePrompts2?[p]);
        }).ToList();
        return new RenderJob(first.Model, first.NumInferenceSteps, first.GuidanceScale, first.Width, first.Height, items, first.UseResolutionBinning, first.NoiseKernel)
        {
            Loras = first.Loras ?? [],
            Scheduler = first.Scheduler,
        };
    }

    public IReadOnlyList<PlannedImage> Batch(int index) =>
        index >= 0 && index < Plan.Batches.Count
            ? Plan.Batches[index]
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"Run {Plan.RunId} has {Plan.Batches.Count} batches.");

    /// <summary>
    /// The blob of an image, the same on every retry: <c>{prefix}/{prompt_index}-{image_index}.png</c> for a
    /// generation, <c>{prefix}/{line}-{prompt_index}-{image_index}.png</c> for a job.
    /// </summary>
    public string BlobName(PlannedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Plan.Requests[image.Request].Line is { } line
            ? string.Create(CultureInfo.InvariantCulture, $"{Prefix}/{line}-{image.PromptIndex}-{image.ImageIndex}.png")
            : string.Create(CultureInfo.InvariantCulture, $"{Prefix}/{image.PromptIndex}-{image.ImageIndex}.png");
    }

    /// <summary>The blob metadata of an image (ASCII only: prompts stay in the PNG's text chunks).</summary>
    public Dictionary<string, string> Metadata(PlannedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var request = Plan.Requests[image.Request];
        var spec = request.Spec;
        var metadata = ImageMetadata.For(image.PromptIndex, image.ImageIndex, spec.ImageSeed(image.PromptIndex, image.ImageIndex),
            spec.Model, spec.NumInferenceSteps, spec.GuidanceScale, spec.Width, spec.Height);
        if (request.Line is { } line)
        {
            metadata[ImageMetadata.Line] = line.ToString(CultureInfo.InvariantCulture);
        }

        return metadata;
    }
}
