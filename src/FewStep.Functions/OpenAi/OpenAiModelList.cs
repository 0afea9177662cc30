using System.Text.Json.Serialization;

namespace FewStep.Functions.OpenAi;

/// <summary>The body of <c>GET /v1/models</c>, in OpenAI's list shape.</summary>
public sealed record OpenAiModelList(
    [property: JsonPropertyName("data")] IReadOnlyList<OpenAiModel> Data,
    [property: JsonPropertyName("object")] string Kind = "list");
