using System.Text.Json.Serialization;

namespace FewStep.Functions.Plans;

/// <summary>One image of a run: its request (an index into the plan's requests), prompt index and image index.</summary>
public sealed record PlannedImage(
    [property: JsonPropertyName("r")] int Request,
    [property: JsonPropertyName("p")] int PromptIndex,
    [property: JsonPropertyName("i")] int ImageIndex);
