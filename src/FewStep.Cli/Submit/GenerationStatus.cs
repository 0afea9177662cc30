using System.Text.Json.Serialization;

namespace FewStep.Cli.Submit;

/// <summary>The body of <c>GET status_url</c>.</summary>
public sealed record GenerationStatus
{
    [JsonPropertyName("id")]
    public string Id { get; init; } = string.Empty;

    /// <summary>pending, running, canceling, succeeded, failed or canceled; a job also partially_failed, rejected or superseded.</summary>
    [JsonPropertyName("status")]
    public string Status { get; init; } = string.Empty;

    [JsonPropertyName("created_at")]
    public DateTimeOffset? CreatedAt { get; init; }

    [JsonPropertyName("completed_at")]
    public DateTimeOffset? CompletedAt { get; init; }

    [JsonPropertyName("progress")]
    public GenerationProgress? Progress { get; init; }

    [JsonPropertyName("images")]
    public IReadOnlyList<GenerationImage> Images { get; init; } = [];

    [JsonPropertyName("error")]
    public GenerationError? Error { get; init; }

    [JsonIgnore]
    public bool IsTerminal => Status is "succeeded" or "partially_failed" or "failed" or "canceled" or "rejected" or "superseded";

    [JsonIgnore]
    public bool Succeeded => Status == "succeeded";
}

public sealed record GenerationProgress(
    [property: JsonPropertyName("completed")] int Completed,
    [property: JsonPropertyName("total")] int Total);

public sealed record GenerationImage(
    [property: JsonPropertyName("prompt_index")] int PromptIndex,
    [property: JsonPropertyName("image_index")] int ImageIndex,
    [property: JsonPropertyName("seed")] long? Seed,
    [property: JsonPropertyName("url")] string? Url,
    [property: JsonPropertyName("blob")] string? Blob);

public sealed record GenerationError([property: JsonPropertyName("message")] string? Message);
