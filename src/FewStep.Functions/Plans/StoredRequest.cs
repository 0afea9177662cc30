using System.Text.Json.Serialization;
using FewStep.Functions.Contracts;

namespace FewStep.Functions.Plans;

/// <summary>
/// A posted generation's validated request, written once to <c>generations/{id}/.fewstep/request.json</c> before
/// its orchestration starts. Created only if absent, so with an <c>Idempotency-Key</c> it is the arbiter between
/// concurrent POSTs: every one of them answers with this record's seed and creation time.
/// </summary>
/// <param name="Fingerprint">SHA-256 of the validated request, to tell a retry from a different request reusing the key; null without a key.</param>
/// <param name="BatchSize">Images per batch, fixed when the request was accepted (the plan is made again from this record).</param>
public sealed record StoredRequest(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("fingerprint")] string? Fingerprint,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("spec")] GenerationSpec Spec)
{
    public static string BlobName(string prefix) => $"{prefix}/.fewstep/request.json";
}
