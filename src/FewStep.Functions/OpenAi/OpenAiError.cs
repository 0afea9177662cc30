using System.Text.Json.Serialization;

namespace FewStep.Functions.OpenAi;

/// <summary>The <c>error</c> object of an OpenAI API error: what OpenAI clients parse into their typed exceptions.</summary>
public sealed record OpenAiError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
