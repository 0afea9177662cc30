using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>The 202 body of <c>DELETE /api/generations/{id}</c>.</summary>
public sealed record CancelAccepted(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("status_url")] string StatusUrl);
