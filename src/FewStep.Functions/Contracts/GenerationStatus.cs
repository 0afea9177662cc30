using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>The body of <c>GET /api/generations/{id}</c>.</summary>
public sealed record GenerationStatus
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>pending, running, canceling, succeeded, failed or canceled; a job also partially_failed, rejected or superseded.</summary>
    [JsonPropertyName("status")]
    public required string Status { get; init; }

    [JsonPropertyName("created_at")]
    public required DateTimeOffset CreatedAt { get; init; }

    [JsonPropertyName("completed_at")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? CompletedAt { get; init; }

    [JsonPropertyName("model")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Model { get; init; }

    [JsonPropertyName("seed")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Seed { get; init; }

    [JsonPropertyName("progress")]
    public required GenerationProgress Progress { get; init; }

    [JsonPropertyName("images")]
    public required IReadOnlyList<ImageLink> Images { get; init; }

    /// <summary>While it runs: the latest preview of the batch rendering now (none before the first step, none once ended).</summary>
    [JsonPropertyName("preview")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public GenerationPreview? Preview { get; init; }

    [JsonPropertyName("error")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public GenerationError? Error { get; init; }
}
