using System.Text.Json.Serialization;
using FewStep.Functions.Orchestration;

namespace FewStep.Functions.Plans;

/// <summary>
/// A run's requests and how their images are batched. Each batch holds images that share model, steps,
/// guidance, size and which optional texts they have, so images of consecutive requests of a job fill one UNet
/// batch. A generation's plan is made again from its request record whenever needed (it is deterministic); a
/// job's is written once to <c>{results}/{name}/.fewstep/plan.json</c>, because making it means reading and
/// validating the whole job file.
/// </summary>
public sealed record RunPlan(
    [property: JsonPropertyName("run_id")] string RunId,
    [property: JsonPropertyName("kind")] RunKind Kind,
    [property: JsonPropertyName("source")] string? Source,
    [property: JsonPropertyName("etag")] string? ETag,
    [property: JsonPropertyName("requests")] IReadOnlyList<PlannedRequest> Requests,
    [property: JsonPropertyName("batches")] IReadOnlyList<IReadOnlyList<PlannedImage>> Batches)
{
    public static string BlobName(string prefix) => $"{prefix}/.fewstep/plan.json";

    [JsonIgnore]
    public int ImageCount => Batches.Sum(b => b.Count);

    /// <summary>The number of batches <see cref="Create"/> makes of one request alone.</summary>
    public static int BatchCount(int images, int batchSize) => (images + batchSize - 1) / batchSize;

    public static RunPlan Create(string runId, RunKind kind, string? source, string? etag, IReadOnlyList<PlannedRequest> requests, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var batches = new List<IReadOnlyList<PlannedImage>>();
        var current = new List<PlannedImage>();
        object? currentKey = null;
        for (var r = 0; r < requests.Count; r++)
        {
            var spec = requests[r].Spec;
            var key = (spec.Model, spec.NumInferenceSteps, spec.GuidanceScale, spec.Width, spec.Height, spec.NegativePrompts is null, spec.NegativePrompts2 is null, spec.UseResolutionBinning, spec.NoiseKernel, spec.PipelineVariant);
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
                    current.Add(new PlannedImage(r, p, i));
                }
            }
        }

        if (current.Count > 0)
        {
            batches.Add(current);
        }

        return new RunPlan(runId, kind, source, etag, requests, batches);
    }
}
