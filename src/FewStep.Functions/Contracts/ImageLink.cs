using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>One finished image: where it is and a read-only URL valid for the configured SAS lifetime.</summary>
public sealed record ImageLink(
    [property: JsonPropertyName("prompt_index")] int PromptIndex,
    [property: JsonPropertyName("image_index")] int ImageIndex,
    [property: JsonPropertyName("seed")] long Seed,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("blob")] string Blob);
