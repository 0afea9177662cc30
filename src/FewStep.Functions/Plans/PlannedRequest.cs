using System.Text.Json.Serialization;
using FewStep.Functions.Contracts;

namespace FewStep.Functions.Plans;

/// <summary>One validated request of a run, with the job file line it starts on (null for a posted generation).</summary>
public sealed record PlannedRequest(
    [property: JsonPropertyName("line")] int? Line,
    [property: JsonPropertyName("spec")] GenerationSpec Spec);
