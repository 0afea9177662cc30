using FewStep.Functions.Orchestration;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace FewStep.Functions.Jobs;

/// <summary>Renders one batch of a job (named by the plan) into <c>{results}/{name}/{line}-{p}-{i}.png</c>.</summary>
public sealed class RenderJobBatchActivity
{
    public const string Name = "RenderJobBatch";

    private readonly JobStorage _storage;
    private readonly IImageRenderer _renderer;
    private readonly IImageStore _results;

    public RenderJobBatchActivity(JobStorage storage, IImageRenderer renderer, [FromKeyedServices(StoreKeys.Results)] IImageStore results)
    {
        _storage = storage;
        _renderer = renderer;
        _results = results;
    }

    [Function(Name)]
    public Task<RenderBatchResult> Run([ActivityTrigger] JobBatchInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(input, context.CancellationToken);
    }

    public async Task<RenderBatchResult> RunAsync(JobBatchInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var plan = await _storage.GetPlanAsync(input.JobId, input.ResultsPrefix, cancellationToken).ConfigureAwait(false);
        var job = plan.RenderJob(input.BatchIndex);
        var refs = plan.Plan.Batches[input.BatchIndex];
        return await BatchRendering.RenderAndStoreAsync(
            _renderer,
            _results,
            job,
            refs.Select(r => r.BlobName(input.ResultsPrefix)).ToList(),
            k =>
            {
                var metadata = BatchRendering.Metadata(job, job.Items[k]);
                metadata[ImageMetadata.Line] = refs[k].Line.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return metadata;
            },
            $"job {input.JobId}",
            cancellationToken).ConfigureAwait(false);
    }
}
