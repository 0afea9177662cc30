using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>An RFC 9457 problem (<c>application/problem+json</c>), with an <c>errors</c> map keyed by field.</summary>
public sealed record ProblemDetailsBody(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("errors")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string[]>? Errors = null);
