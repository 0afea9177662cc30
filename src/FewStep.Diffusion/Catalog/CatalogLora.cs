using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Catalog;

/// <summary>A LoRA a catalog model bundles, by name (a <see cref="LoraCatalogEntry"/> or a file in <c>loras/</c>), with its scale.</summary>
public sealed record CatalogLora
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("scale")]
    public float Scale { get; init; } = 1f;
}
