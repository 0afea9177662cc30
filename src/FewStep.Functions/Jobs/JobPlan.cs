using System.Text.Json.Serialization;

namespace FewStep.Functions.Jobs;

/// <summary>
/// A valid job's requests and how their images are batched, written once to
/// <c>{results}/{name}/.fewstep/plan.json</c> and read (cached per process) by the batch activities. Each batch
/// is a list of (line, prompt index, image index) that share model, steps, guidance and size, so images of
/// different requests fill one UNet batch.
/// </summary>
public sealed record JobPlan(
    [property: JsonPropertyName("job_id")] string JobId,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("etag")] string ETag,
    [property: JsonPropertyName("requests")] IReadOnlyList<JobRequest> Requests,
    [property: JsonPropertyName("batches")] IReadOnlyList<IReadOnlyList<JobImageRef>> Batches)
{
    public static string BlobName(string resultsPrefix) => $"{resultsPrefix}/.fewstep/plan.json";

    public int ImageCount => Batches.Sum(b => b.Count);

    public static JobPlan Create(string jobId, string source, string etag, IReadOnlyList<JobRequest> requests, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var batches = new List<IReadOnlyList<JobImageRef>>();
        var current = new List<JobImageRef>();
        object? currentKey = null;
        foreach (var request in requests)
        {
            var spec = request.Spec;
            var key = (spec.Model, spec.NumInferenceSteps, spec.GuidanceScale, spec.Width, spec.Height, spec.NegativePrompts is null, spec.NegativePrompts2 is null, spec.UseResolutionBinning);
            for (var p = 0; p < spec.Prompts.Count; p++)
            {
                for (var i = 0; i < spec.NumImagesPerPrompt; i++)
                {
                    if (current.Count == batchSize || (current.Count > 0 && !key.Equals(currentKey)))
                    {
                        batches.Add(current);
                        current = [];
                    }

                    currentKey = key;
                    current.Add(new JobImageRef(request.Line, p, i));
                }
            }
        }

        if (current.Count > 0)
        {
            batches.Add(current);
        }

        return new JobPlan(jobId, source, etag, requests, batches);
    }
}
