using FewStep.Functions.Rendering;

namespace FewStep.Functions.Jobs;

/// <summary>A plan with its requests indexed by line, ready to turn batches into render jobs.</summary>
public sealed class LoadedJobPlan
{
    private readonly Dictionary<int, JobRequest> _byLine;

    public LoadedJobPlan(JobPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Plan = plan;
        _byLine = plan.Requests.ToDictionary(r => r.Line);
    }

    public JobPlan Plan { get; }

    public JobRequest Request(int line) => _byLine[line];

    /// <summary>The render job of batch <paramref name="index"/>: its images share model, steps, guidance and size.</summary>
    public RenderJob RenderJob(int index)
    {
        var refs = Plan.Batches[index];
        var first = Request(refs[0].Line).Spec;
        var items = refs.Select(r =>
        {
            var spec = Request(r.Line).Spec;
            var p = r.PromptIndex;
            return new RenderItem(p, r.ImageIndex, spec.ImageSeed(p, r.ImageIndex), spec.Prompts[p], spec.Prompts2?[p], spec.NegativePrompts?[p], spec.NegativePrompts2?[p]);
        }).ToList();
        return new RenderJob(first.Model, first.NumInferenceSteps, first.GuidanceScale, first.Width, first.Height, items, first.UseResolutionBinning);
    }
}
