using System.Text.Json.Serialization;

namespace FewStep.Functions.Jobs;

/// <summary><c>results/{name}/job.json</c>: which run of which upload the folder holds, and how it stands.</summary>
public sealed record JobMarker(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("job")] string? Job,
    [property: JsonPropertyName("etag")] string? ETag,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("requests")] int Requests,
    [property: JsonPropertyName("images")] int Images);
