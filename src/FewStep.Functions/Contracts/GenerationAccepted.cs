using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>
/// The 202 body of <c>POST /api/generations</c>: only the app's own URL. The Durable extension's management URLs
/// (which carry its system key, good for every instance of the task hub) are never handed out.
/// </summary>
public sealed record GenerationAccepted(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("status_url")] string StatusUrl,
    [property: JsonPropertyName("seed")] long Seed);
