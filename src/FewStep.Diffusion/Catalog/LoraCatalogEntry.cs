using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Catalog;

/// <summary>
/// A named LoRA file: its place under the model root's <c>loras/</c> folder and where to download it from (one
/// <c>.safetensors</c> file of a Hub repository).
/// </summary>
public sealed record LoraCatalogEntry
{
    /// <summary>The folder LoRA files live in, under the model root.</summary>
    public const string FolderName = "loras";

    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("description")]
    public string? Description { get; init; }

    /// <summary>The file name under <c>&lt;model root&gt;/loras/</c>; defaults to <c>&lt;name&gt;.safetensors</c>.</summary>
    [JsonPropertyName("file")]
    public string? File { get; init; }

    [JsonPropertyName("hub_repo")]
    public string? HubRepo { get; init; }

    [JsonPropertyName("hub_revision")]
    public string? HubRevision { get; init; }

    /// <summary>The <c>.safetensors</c> file in the Hub repository (its path there).</summary>
    [JsonPropertyName("hub_file")]
    public string? HubFile { get; init; }

    /// <summary>The pipeline family the LoRA was trained for (<c>StableDiffusionPipeline</c>, <c>StableDiffusionXLPipeline</c>); informational.</summary>
    [JsonPropertyName("base")]
    public string? Base { get; init; }

    public string ResolvePath(string modelRoot) =>
        Path.GetFullPath(Path.Combine(modelRoot, FolderName, File ?? Name + ".safetensors"));

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var at = $"lora '{Name}'";
        if (!LoraNames.IsValid(Name))
        {
            errors.Add($"{at}: a LoRA name is letters, digits, '.', '_' and '-' (at most 128), not starting with '.'");
        }

        if (File is not null && (!LoraNames.IsValid(Path.GetFileNameWithoutExtension(File)) || !File.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            errors.Add($"{at}: file must be a plain <name>.safetensors file name inside the loras folder, not '{File}'");
        }

        if (HubRepo is not null && HubFile is null)
        {
            errors.Add($"{at}: hub_repo needs hub_file (the .safetensors file in the repository)");
        }

        return errors;
    }
}
