using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FewStep.Functions.Contracts;
using FewStep.Functions.Jobs;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Plans;
using FewStep.Functions.Previews;
using FewStep.Functions.Storage;
using Microsoft.Azure.Functions.Worker;

namespace FewStep.Functions.Manifests;

/// <summary>
/// Writes a run's <c>manifest.json</c> — generations and jobs alike — from its plan, the images in storage and
/// the batches that failed: each request succeeded (all its images stored), failed (with the reason) or was
/// canceled. A job's <c>job.json</c> marker gets the final status too. Idempotent: a retry writes the same.
/// </summary>
public sealed class WriteManifestActivity
{
    public const string Name = "WriteManifest";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly RunStores _stores;
    private readonly RunPlanStore _plans;

    public WriteManifestActivity(RunStores stores, RunPlanStore plans)
    {
        _stores = stores;
        _plans = plans;
    }

    public static string BlobName(string prefix) => $"{prefix}/manifest.json";

    [Function(Name)]
    public Task<ManifestSummary> Run([ActivityTrigger] ManifestInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(input, context.CancellationToken);
    }

    public async Task<ManifestSummary> RunAsync(ManifestInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var run = input.Run;
        var store = _stores.For(run.Kind);
        try
        {
            var plan = await _plans.GetAsync(run, cancellationToken).ConfigureAwait(false);
            var requests = plan.Plan.Requests;

            // A failed batch fails every request with an image in it.
            var failedRequests = new Dictionary<int, GenerationError>();
            foreach (var failure in input.Failures)
            {
                foreach (var image in plan.Batch(failure.BatchIndex))
                {
                    failedRequests.TryAdd(image.Request, failure.Error);
                }
            }

            var stored = await store.ListImagesAsync(run.Prefix, cancellationToken).ConfigureAwait(false);
            var urls = stored.Count == 0 ? [] : await store.GetReadUrisAsync(stored.Select(s => s.Blob).ToList(), cancellationToken).ConfigureAwait(false);
            var requestOfLine = requests.Select((r, index) => (r.Line, index)).Where(x => x.Line is not null).ToDictionary(x => x.Line!.Value, x => x.index);
            var byRequest = stored.Select((image, k) => (image, url: urls[k]))
                .Select(x => (request: x.image.Line is { } line ? requestOfLine.GetValueOrDefault(line, -1) : (run.Kind == RunKind.Generation ? 0 : -1), x.image, x.url))
                .Where(x => x.request >= 0)
                .ToLookup(x => x.request);

            var entries = requests.Select((request, index) =>
            {
                var spec = request.Spec;
                var images = byRequest[index].OrderBy(x => x.image.PromptIndex).ThenBy(x => x.image.ImageIndex)
                    .Select(x => new ManifestImage(x.image.PromptIndex, x.image.ImageIndex, x.image.Seed, x.image.Blob, x.url.AbsoluteUri)).ToList();
                var (status, error) = failedRequests.TryGetValue(index, out var failed) ? (RunStatuses.Failed, failed)
                    : images.Count >= spec.ImageCount ? (RunStatuses.Succeeded, null)
                    : input.Canceled ? (RunStatuses.Canceled, (GenerationError?)null)
                    : (RunStatuses.Failed, new GenerationError(RunErrors.RenderFailed, string.Create(CultureInfo.InvariantCulture, $"only {images.Count} of {spec.ImageCount} images were stored.")));
                return new ManifestRequest
                {
                    Line = request.Line,
                    Status = status,
                    Error = error,
                    Request = ManifestRequestSpec.From(spec),
                    ImagesExpected = spec.ImageCount,
                    Images = images,
                };
            }).ToList();

            var failedCount = entries.Count(e => e.Status == RunStatuses.Failed);
            var runStatus = input.Canceled ? RunStatuses.Canceled : RunStatuses.FromRequests(entries.Count, failedCount);
            var imagesTotal = entries.Sum(e => e.Images.Count);
            var expected = entries.Sum(e => e.ImagesExpected);
            var manifest = new RunManifest
            {
                Id = run.Id,
                Kind = run.Kind == RunKind.Job ? "job" : "generation",
                Status = runStatus,
                Error = run.Kind == RunKind.Generation ? entries[0].Error : null,
                Source = plan.Plan.Source,
                ETag = plan.Plan.ETag,
                RequestsTotal = entries.Count,
                RequestsFailed = failedCount,
                ImagesTotal = imagesTotal,
                ImagesExpected = expected,
                Requests = entries,
                Timings = new ManifestTimings(input.CreatedAt, input.CompletedAt, (input.CompletedAt - input.CreatedAt).TotalSeconds, input.Batches, input.RenderMilliseconds / 1000.0),
            };
            await store.WriteJsonAsync(BlobName(run.Prefix), BinaryData.FromObjectAsJson(manifest, Json), cancellationToken).ConfigureAwait(false);
            if (run.Kind == RunKind.Job)
            {
                await store.WriteJsonAsync(PlanJobActivity.MarkerBlobName(run.Prefix), BinaryData.FromObjectAsJson(new JobMarker(run.Id, plan.Plan.Source, plan.Plan.ETag, runStatus, entries.Count, imagesTotal), Json), cancellationToken).ConfigureAwait(false);
            }

            // The run has ended: its live preview is shown no more.
            await store.DeleteIfExistsAsync(PreviewStore.BlobName(run.Id), cancellationToken).ConfigureAwait(false);
            return new ManifestSummary(runStatus, entries.Count, failedCount, imagesTotal, expected);
        }
        catch (Exception e) when (TransientErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientFailureException($"Writing the manifest of {run.Id} failed transiently: {e.Message}", e);
        }
    }
}
