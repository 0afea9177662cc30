using System.Text.Json.Serialization;

namespace FewStep.Functions.OpenAi;

/// <summary>One image of an OpenAI images response: a read-only URL or the base64 PNG, as the request's <c>response_format</c> asked.</summary>
public sealed record OpenAiImage(
    [property: JsonPropertyName("url")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Url,
    [property: JsonPropertyName("b64_json")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Base64Json);
