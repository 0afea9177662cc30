using FewStep.Functions.Jobs;
using FewStep.Functions.Options;
using FewStep.Functions.Plans;

namespace FewStep.Functions.Orchestration;

/// <summary>Builds runs' orchestration inputs from the app settings at the moment a run starts.</summary>
public static class RunInputs
{
    public static RunSettings Settings(FewStepOptions options, int? batchSize = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new RunSettings(
            batchSize ?? options.BatchSize,
            options.RenderWindow,
            options.BatchesPerExecution,
            new RetrySettings(options.RenderMaxAttempts, options.RenderFirstRetryInterval, options.RenderBackoffCoefficient),
            new RetrySettings(options.WebhookMaxAttempts, options.WebhookFirstRetryInterval, 2.0));
    }

    /// <summary>A posted generation's input, from its stored request (so concurrent starts build the same input).</summary>
    public static RunInput ForGeneration(StoredRequest request, FewStepOptions options)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new RunInput
        {
            Id = request.Id,
            Kind = RunKind.Generation,
            Prefix = RunPlanStore.GenerationPrefix(request.Id),
            CreatedAt = request.CreatedAt,
            Settings = Settings(options, request.BatchSize),
            Model = request.Spec.Model,
            Seed = request.Spec.Seed,
            ImageCount = request.Spec.ImageCount,
            WebhookUrl = request.Spec.WebhookUrl,
        };
    }

    /// <summary>A job run's input: which upload, and where its results go.</summary>
    public static RunInput ForJob(string id, string blobName, string etag, DateTimeOffset createdAt, FewStepOptions options) => new()
    {
        Id = id,
        Kind = RunKind.Job,
        Prefix = JobIds.ResultsPrefix(blobName),
        CreatedAt = createdAt,
        Settings = Settings(options),
        JobBlobName = blobName,
        JobETag = etag,
    };
}
