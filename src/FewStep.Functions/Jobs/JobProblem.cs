using System.Text.Json.Serialization;

namespace FewStep.Functions.Jobs;

/// <summary>One thing wrong with a job file: where (line, or null for the whole file), which field, and what.</summary>
public sealed record JobProblem(
    [property: JsonPropertyName("line")] int? Line,
    [property: JsonPropertyName("field")] string Field,
    [property: JsonPropertyName("message")] string Message);
