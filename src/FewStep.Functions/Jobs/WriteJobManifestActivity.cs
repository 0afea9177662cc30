using System.Globalization;
using Azure;
using FewStep.Functions.Contracts;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Storage;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace FewStep.Functions.Jobs;

/// <summary>
/// Writes <c>{results}/{name}/manifest.json</c>: each request's outcome (succeeded with its images, seeds,
/// blobs and SAS URLs, or failed with the reason), and updates the job's <c>job.json</c> marker.
/// </summary>
public sealed class WriteJobManifestActivity
{
    public const string Name = "WriteJobManifest";

    private readonly JobStorage _storage;
    private readonly IImageStore _results;

    public WriteJobManifestActivity(JobStorage storage, [FromKeyedServices(StoreKeys.Results)] IImageStore results)
    {
        _storage = storage;
        _results = results;
    }

    public static string BlobName(string resultsPrefix) => $"{resultsPrefix}/manifest.json";

    [Function(Name)]
    public Task<JobManifestSummary> Run([ActivityTrigger] JobManifestInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(input, context.CancellationToken);
    }

    public async Task<JobManifestSummary> RunAsync(JobManifestInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            var loaded = await _storage.GetPlanAsync(input.JobId, input.ResultsPrefix, cancellationToken).ConfigureAwait(false);
            var plan = loaded.Plan;
            var failedLines = new Dictionary<int, GenerationError>();
            foreach (var failure in input.Failures)
            {
                foreach (var image in plan.Batches[failure.BatchIndex])
                {
                    failedLines.TryAdd(image.Line, failure.Error);
                }
            }

            var stored = await _results.ListImagesAsync(input.ResultsPrefix, cancellationToken).ConfigureAwait(false);
            var urls = stored.Count == 0 ? [] : await _results.GetReadUrisAsync(stored.Select(s => s.Blob).ToList(), cancellationToken).ConfigureAwait(false);
            var byLine = stored.Select((image, k) => (image, url: urls[k])).Where(x => x.image.Line is not null).ToLookup(x => x.image.Line!.Value);
            var requests = plan.Requests.Select(request =>
            {
                var spec = request.Spec;
                var images = byLine[request.Line].ToList();
                var error = failedLines.GetValueOrDefault(request.Line)
                    ?? (images.Count == spec.ImageCount ? null
                        : new GenerationError(GenerationErrors.RenderFailed, string.Create(CultureInfo.InvariantCulture, $"only {images.Count} of {spec.ImageCount} images were stored.")));
                return new
                {
                    line = request.Line,
                    status = error is null ? "succeeded" : "failed",
                    error,
                    request = new
                    {
                        model = spec.Model,
                        prompts = spec.Prompts,
                        prompts_2 = spec.Prompts2,
                        negative_prompts = spec.NegativePrompts,
                        negative_prompts_2 = spec.NegativePrompts2,
                        num_inference_steps = spec.NumInferenceSteps,
                        guidance_scale = spec.GuidanceScale,
                        width = spec.Width,
                        height = spec.Height,
                        seed = spec.Seed,
                        num_images_per_prompt = spec.NumImagesPerPrompt,
                        use_resolution_binning = spec.UseResolutionBinning ? true : (bool?)null,
                    },
                    images = images.Select(x => new
                    {
                        prompt_index = x.image.PromptIndex,
                        image_index = x.image.ImageIndex,
                        seed = x.image.Seed,
                        blob = x.image.Blob,
                        url = x.url.AbsoluteUri,
                    }),
                };
            }).ToList();

            var failed = requests.Count(r => r.error is not null);
            var status = failed == 0 ? "succeeded" : failed == requests.Count ? "failed" : "partially_failed";
            await _storage.WriteJsonAsync(BlobName(input.ResultsPrefix), new
            {
                id = input.JobId,
                job = plan.Source,
                etag = plan.ETag,
                status,
                requests_total = requests.Count,
                requests_failed = failed,
                images_total = stored.Count,
                requests,
                timings = new
                {
                    created_at = input.CreatedAt,
                    completed_at = input.CompletedAt,
                    wall_seconds = (input.CompletedAt - input.CreatedAt).TotalSeconds,
                    batches = plan.Batches.Count,
                    render_seconds = input.RenderMilliseconds / 1000.0,
                },
            }, cancellationToken).ConfigureAwait(false);
            await _storage.WriteJsonAsync(PlanJobActivity.MarkerBlobName(input.ResultsPrefix), new
            {
                id = input.JobId,
                job = plan.Source,
                etag = plan.ETag,
                status,
                requests = requests.Count,
                images = stored.Count,
            }, cancellationToken).ConfigureAwait(false);
            return new JobManifestSummary(requests.Count, failed, stored.Count);
        }
        catch (RequestFailedException e) when (TransientErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientFailureException($"Writing the manifest of job {input.JobId} failed transiently: {e.Message}", e);
        }
    }
}
