using System.Text.Json.Serialization;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// A run's orchestration input. Small on purpose: the requests (prompts) stay in blobs — a generation's request
/// record, a job's plan — and activities read them; history carries ids, counts and settings.
/// </summary>
public sealed record RunInput
{
    public required string Id { get; init; }

    public required RunKind Kind { get; init; }

    /// <summary>The run's folder in its container (see <see cref="RunRef.Prefix"/>).</summary>
    public required string Prefix { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required RunSettings Settings { get; init; }

    /// <summary>A generation's model (status answers show it without reading blobs); null for a job.</summary>
    public string? Model { get; init; }

    /// <summary>A generation's request seed; null for a job.</summary>
    public long? Seed { get; init; }

    /// <summary>A generation's image count; 0 for a job until its file is planned.</summary>
    public int ImageCount { get; init; }

    public string? WebhookUrl { get; init; }

    /// <summary>A job's file in the <c>jobs</c> container, read only at <see cref="JobETag"/>.</summary>
    public string? JobBlobName { get; init; }

    public string? JobETag { get; init; }

    /// <summary>Null in the first execution; the progress so far after a continue-as-new.</summary>
    public RunCursor? Cursor { get; init; }

    [JsonIgnore]
    public RunRef Ref => new(Id, Kind, Prefix);
}
