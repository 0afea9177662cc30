using System.Text.Json;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Storage;
using Microsoft.Extensions.Caching.Memory;

namespace FewStep.Functions.Plans;

/// <summary>
/// Reads and writes runs' request records and plans. Every batch of a run reads its plan, so plans are cached
/// per process (by run id, bounded by total image count) and read from storage once.
/// </summary>
public sealed class RunPlanStore : IDisposable
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly RunStores _stores;

    // Microsoft.Extensions.Caching.Memory rather than a dictionary: concurrent many-reader access, a size bound
    // (a 10,000-image plan weighs more than a 1-image one) and eviction, all kept by the framework.
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 200_000 });

    public RunPlanStore(RunStores stores) => _stores = stores;

    /// <summary>Creates a generation's request record unless one exists; false when it already did.</summary>
    public Task<bool> TryCreateRequestAsync(StoredRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _stores.Images.TryCreateJsonAsync(StoredRequest.BlobName(GenerationPrefix(request.Id)), BinaryData.FromObjectAsJson(request, Json), cancellationToken);
    }

    /// <summary>A generation's request record, or null when there is none.</summary>
    public async Task<StoredRequest?> ReadRequestAsync(string id, CancellationToken cancellationToken)
    {
        var content = await _stores.Images.ReadAsync(StoredRequest.BlobName(GenerationPrefix(id)), cancellationToken).ConfigureAwait(false);
        return content?.ToObjectFromJson<StoredRequest>(Json);
    }

    public Task WriteJobPlanAsync(string prefix, RunPlan plan, CancellationToken cancellationToken) =>
        _stores.Results.WriteJsonAsync(RunPlan.BlobName(prefix), BinaryData.FromObjectAsJson(plan, Json), cancellationToken);

    /// <summary>The run's plan (read once per process): a generation's from its request record, a job's from its plan blob.</summary>
    public async Task<LoadedRunPlan> GetAsync(RunRef run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (_cache.TryGetValue(run.Id, out LoadedRunPlan? cached) && cached is not null)
        {
            return cached;
        }

        var plan = run.Kind == RunKind.Job ? await ReadJobPlanAsync(run, cancellationToken).ConfigureAwait(false) : await MakeGenerationPlanAsync(run, cancellationToken).ConfigureAwait(false);
        var loaded = new LoadedRunPlan(plan, run.Prefix);
        _cache.Set(run.Id, loaded, new MemoryCacheEntryOptions { Size = Math.Max(1, plan.ImageCount), SlidingExpiration = TimeSpan.FromMinutes(30) });
        return loaded;
    }

    public void Dispose() => _cache.Dispose();

    /// <summary>Where a generation's images, request record and manifest go.</summary>
    public static string GenerationPrefix(string id) => $"generations/{id}";

    private async Task<RunPlan> MakeGenerationPlanAsync(RunRef run, CancellationToken cancellationToken)
    {
        var request = await ReadRequestAsync(run.Id, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Generation {run.Id} has no request record at {StoredRequest.BlobName(run.Prefix)}.");
        return RunPlan.Create(run.Id, RunKind.Generation, null, null, [new PlannedRequest(null, request.Spec)], request.BatchSize);
    }

    private async Task<RunPlan> ReadJobPlanAsync(RunRef run, CancellationToken cancellationToken)
    {
        var content = await _stores.Results.ReadAsync(RunPlan.BlobName(run.Prefix), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Job {run.Id} has no plan at {RunPlan.BlobName(run.Prefix)}.");
        var plan = content.ToObjectFromJson<RunPlan>(Json) ?? throw new InvalidOperationException($"The plan of job {run.Id} is empty.");
        return plan.RunId == run.Id
            ? plan
            : throw new InvalidOperationException($"The plan at {run.Prefix} belongs to job {plan.RunId}, not {run.Id}: a newer upload of the same name replaced it.");
    }
}
