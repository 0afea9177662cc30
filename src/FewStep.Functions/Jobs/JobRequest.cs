using System.Text.Json.Serialization;
using FewStep.Functions.Contracts;

namespace FewStep.Functions.Jobs;

/// <summary>One validated request of a job, with the line it starts on.</summary>
public sealed record JobRequest(
    [property: JsonPropertyName("line")] int Line,
    [property: JsonPropertyName("spec")] GenerationSpec Spec);
