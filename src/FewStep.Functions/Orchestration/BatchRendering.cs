using System.Diagnostics;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// Renders one batch and uploads each PNG under its fixed name (a retry overwrites, never duplicates), for both
/// generations and jobs. Transient errors come out as <see cref="TransientFailureException"/> for the durable
/// retry policy; anything else (a user's mistake) as it is.
/// </summary>
internal static class BatchRendering
{
    /// <param name="blobNames">One name per job item, in order.</param>
    /// <param name="metadata">The blob metadata of each item.</param>
    public static async Task<RenderBatchResult> RenderAndStoreAsync(
        IImageRenderer renderer,
        IImageStore store,
        RenderJob job,
        IReadOnlyList<string> blobNames,
        Func<int, Dictionary<string, string>> metadata,
        string owner,
        CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            var images = await renderer.RenderAsync(job, cancellationToken).ConfigureAwait(false);
            var renderMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            for (var k = 0; k < images.Count; k++)
            {
                await store.UploadPngAsync(blobNames[k], images[k].Png, metadata(k), cancellationToken).ConfigureAwait(false);
            }

            return new RenderBatchResult(blobNames.Take(images.Count).ToList(), renderMs);
        }
        catch (Exception e) when (TransientErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientFailureException($"A batch of {owner} failed transiently: {e.Message}", e);
        }
    }

    /// <summary>The metadata every stored image carries.</summary>
    public static Dictionary<string, string> Metadata(RenderJob job, RenderItem item) =>
        ImageMetadata.For(item.PromptIndex, item.ImageIndex, item.Seed, job.Model, job.NumInferenceSteps, job.GuidanceScale, job.Width, job.Height);
}
