using System.Security.Cryptography;
using System.Text;
using FewStep.Functions.Contracts;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Plans;
using FewStep.Functions.Queueing;
using FewStep.Functions.Validation;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Triggers;

/// <summary>
/// Starts a validated generation, whichever API it came through (<c>POST /api/generations</c>, the OpenAI-compatible
/// <c>POST /v1/images/generations</c>): the idempotency key, the service-wide queue, the request record, then the
/// orchestration. A request is recorded before its orchestration starts, so a crash between the two is healed by
/// the client's retry with the same key.
/// </summary>
public sealed partial class GenerationStarter
{
    private readonly RunPlanStore _requests;
    private readonly QueueAdmission _queue;
    private readonly FewStepOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<GenerationStarter> _logger;

    public GenerationStarter(RunPlanStore requests, QueueAdmission queue, IOptions<FewStepOptions> options, TimeProvider time, ILogger<GenerationStarter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _requests = requests;
        _queue = queue;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>The instance id for an idempotency key: the same key always names the same generation.</summary>
    public static string IdFromKey(string key) =>
        "k" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];

    /// <summary>The seed source of a request: random, or derived from its idempotency key so a retry draws the same seed.</summary>
    public static Func<long> SeedSource(string? key) =>
        key is null ? () => RandomNumberGenerator.GetInt32(int.MaxValue) : () => RequestFingerprint.SeedForKey(key);

    public async Task<GenerationStart> StartAsync(DurableTaskClient client, GenerationSpec spec, string? key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(spec);
        var id = key is null ? Guid.NewGuid().ToString("N") : IdFromKey(key);
        var fingerprint = key is null ? null : RequestFingerprint.Of(spec);
        if (key is not null && await _requests.ReadRequestAsync(id, cancellationToken).ConfigureAwait(false) is { } earlier)
        {
            return await ReplayAsync(client, earlier, fingerprint, cancellationToken).ConfigureAwait(false);
        }

        var admission = await _queue.TryAdmitAsync(client, spec.ImageCount, cancellationToken).ConfigureAwait(false);
        if (!admission.Admitted)
        {
            return new GenerationStart(GenerationStartKind.QueueFull, id, spec.Seed, _time.GetUtcNow(), admission.Queued);
        }

        var stored = new StoredRequest(id, fingerprint, _time.GetUtcNow(), _options.BatchSize, spec);
        if (!await _requests.TryCreateRequestAsync(stored, cancellationToken).ConfigureAwait(false))
        {
            // A concurrent POST with the same key recorded its request first: answer as a retry of it.
            var winner = await _requests.ReadRequestAsync(id, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The request record of {id} exists but cannot be read.");
            return await ReplayAsync(client, winner, fingerprint, cancellationToken).ConfigureAwait(false);
        }

        await OrchestrationStarts.StartOnceAsync(client, RunOrchestrator.Name, RunInputs.ForGeneration(stored, _options), id, cancellationToken).ConfigureAwait(false);
        LogStarted(_logger, id, spec.Model, spec.ImageCount);
        return new GenerationStart(GenerationStartKind.Started, id, spec.Seed, stored.CreatedAt);
    }

    // The same key again: the same generation if the request is the same (starting it if the first POST died
    // between recording and starting), a conflict if it is another request.
    private async Task<GenerationStart> ReplayAsync(DurableTaskClient client, StoredRequest earlier, string? fingerprint, CancellationToken cancellationToken)
    {
        if (!string.Equals(earlier.Fingerprint, fingerprint, StringComparison.Ordinal))
        {
            LogKeyReused(_logger, earlier.Id);
            return new GenerationStart(GenerationStartKind.KeyConflict, earlier.Id, earlier.Spec.Seed, earlier.CreatedAt);
        }

        if (await client.GetInstanceAsync(earlier.Id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false) is null)
        {
            await OrchestrationStarts.StartOnceAsync(client, RunOrchestrator.Name, RunInputs.ForGeneration(earlier, _options), earlier.Id, cancellationToken).ConfigureAwait(false);
        }

        LogIdempotentReplay(_logger, earlier.Id);
        return new GenerationStart(GenerationStartKind.Replayed, earlier.Id, earlier.Spec.Seed, earlier.CreatedAt);
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Started generation {Id}: {Images} images of model {Model}")]
    private static partial void LogStarted(ILogger logger, string id, string model, int images);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Idempotency key matched generation {Id}; returning it")]
    private static partial void LogIdempotentReplay(ILogger logger, string id);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Idempotency key of generation {Id} reused for a different request; answered 422")]
    private static partial void LogKeyReused(ILogger logger, string id);
}
