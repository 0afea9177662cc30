using System.Text.Json.Serialization;

namespace FewStep.Functions.OpenAi;

/// <summary>An OpenAI API error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed record OpenAiErrorBody([property: JsonPropertyName("error")] OpenAiError Error);
