using System.Text.Json.Serialization;

namespace FewStep.Functions.OpenAi;

/// <summary>One entry of <c>GET /v1/models</c>: a catalog model that is installed.</summary>
public sealed record OpenAiModel(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy,
    [property: JsonPropertyName("object")] string Kind = "model");
