using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>Images finished out of the total; also the orchestration's custom status.</summary>
public sealed record GenerationProgress(
    [property: JsonPropertyName("completed")] int Completed,
    [property: JsonPropertyName("total")] int Total);
