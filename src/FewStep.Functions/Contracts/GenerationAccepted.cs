using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>The 202 body of <c>POST /api/generations</c>.</summary>
public sealed record GenerationAccepted(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("status_url")] string StatusUrl,
    [property: JsonPropertyName("statusQueryGetUri")] string StatusQueryGetUri,
    [property: JsonPropertyName("terminatePostUri")] string TerminatePostUri,
    [property: JsonPropertyName("purgeHistoryDeleteUri")] string PurgeHistoryDeleteUri,
    [property: JsonPropertyName("seed")] long Seed);
