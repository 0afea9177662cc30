using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>
/// The live preview in a running generation's status: the first image of the batch rendering now, at step
/// <see cref="Step"/> of <see cref="Steps"/>, as a PNG data URL at most 128 px on the long side.
/// </summary>
public sealed record GenerationPreview(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("prompt_index")] int PromptIndex,
    [property: JsonPropertyName("image_index")] int ImageIndex,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt);
