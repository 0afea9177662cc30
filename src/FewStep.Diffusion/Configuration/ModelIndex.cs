using System.Text.Json;
using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Configuration;

/// <summary>
/// <c>model_index.json</c> of a diffusers pipeline folder: the pipeline class and its components
/// (<c>"unet": ["diffusers", "UNet2DConditionModel"]</c>; <c>[null, null]</c> for an absent one).
/// </summary>
public sealed record ModelIndex
{
    [JsonPropertyName("_class_name")]
    public string? ClassName { get; init; }

    [JsonPropertyName("_diffusers_version")]
    public string? DiffusersVersion { get; init; }

    /// <summary>SDXL pipelines register it; absent means the pipeline class default (true for SDXL).</summary>
    [JsonPropertyName("force_zeros_for_empty_prompt")]
    public bool? ForceZerosForEmptyPrompt { get; init; }

    /// <summary>Every other key: the components, as <c>[library, class]</c> pairs.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement> Components { get; init; } = [];

    /// <summary>The component's class (e.g. <c>CLIPTextModelWithProjection</c>), or null if the folder has none.</summary>
    public string? ComponentClass(string component)
    {
        if (!Components.TryGetValue(component, out var value) || value.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var parts = value.EnumerateArray().ToArray();
        return parts.Length == 2 && parts[1].ValueKind == JsonValueKind.String ? parts[1].GetString() : null;
    }
}
