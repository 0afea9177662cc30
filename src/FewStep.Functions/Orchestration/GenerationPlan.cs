using FewStep.Functions.Contracts;
using FewStep.Functions.Rendering;

namespace FewStep.Functions.Orchestration;

/// <summary>Expands a generation into its images (each with its own seed) and groups them into batches.</summary>
public static class GenerationPlan
{
    public static IReadOnlyList<RenderItem> Images(GenerationSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var items = new List<RenderItem>(spec.ImageCount);
        for (var p = 0; p < spec.Prompts.Count; p++)
        {
            for (var i = 0; i < spec.NumImagesPerPrompt; i++)
            {
                items.Add(new RenderItem(p, i, spec.ImageSeed(p, i), spec.Prompts[p], spec.Prompts2?[p], spec.NegativePrompts?[p], spec.NegativePrompts2?[p]));
            }
        }

        return items;
    }

    public static IReadOnlyList<RenderBatchInput> Batches(GenerationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var spec = input.Spec;
        return Images(spec)
            .Chunk(input.BatchSize)
            .Select(items => new RenderBatchInput(input.Id, input.BlobPrefix,
                new RenderJob(spec.Model, spec.NumInferenceSteps, spec.GuidanceScale, spec.Width, spec.Height, items, spec.UseResolutionBinning)))
            .ToList();
    }
}
