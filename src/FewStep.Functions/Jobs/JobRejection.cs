using System.Text.Json.Serialization;

namespace FewStep.Functions.Jobs;

/// <summary><c>results/{name}/error.json</c> of a rejected job file: every problem, and where the file went.</summary>
public sealed record JobRejection(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("job")] string Job,
    [property: JsonPropertyName("etag")] string ETag,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("moved_to")] string MovedTo,
    [property: JsonPropertyName("rejected_at")] DateTimeOffset RejectedAt,
    [property: JsonPropertyName("problems")] IReadOnlyList<JobProblem> Problems);
