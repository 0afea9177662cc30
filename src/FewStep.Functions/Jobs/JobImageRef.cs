using System.Text.Json.Serialization;

namespace FewStep.Functions.Jobs;

/// <summary>One image of a job: its request's line, prompt index and image index.</summary>
public sealed record JobImageRef(
    [property: JsonPropertyName("line")] int Line,
    [property: JsonPropertyName("p")] int PromptIndex,
    [property: JsonPropertyName("i")] int ImageIndex)
{
    /// <summary>The image's blob: <c>{prefix}/{line}-{prompt_index}-{image_index}.png</c>.</summary>
    public string BlobName(string prefix) => $"{prefix}/{Line}-{PromptIndex}-{ImageIndex}.png";
}
