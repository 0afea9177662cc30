using System.Text.Json;
using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Catalog;

/// <summary>
/// One named model: where its folder is, where to download it from, and the settings a request gets when it
/// leaves them out (the model's recommended ones) together with the limits a request must stay within.
/// </summary>
public sealed record ModelCatalogEntry
{
    /// <summary>The name requests use, e.g. <c>sdxl-turbo</c>.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("description")]
    public string? Description { get; init; }

    /// <summary>The model folder: absolute, or relative to the model root; defaults to <see cref="Name"/>.</summary>
    [JsonPropertyName("folder")]
    public string? Folder { get; init; }

    /// <summary>Hugging Face Hub repository holding an ONNX export in the optimum layout, e.g. <c>org/repo</c>.</summary>
    [JsonPropertyName("hub_repo")]
    public string? HubRepo { get; init; }

    [JsonPropertyName("hub_revision")]
    public string? HubRevision { get; init; }

    /// <summary>Folder inside the Hub repository that holds the export, when it is not the root.</summary>
    [JsonPropertyName("hub_subfolder")]
    public string? HubSubfolder { get; init; }

    [JsonPropertyName("steps")]
    public int Steps { get; init; } = 1;

    [JsonPropertyName("min_steps")]
    public int MinSteps { get; init; } = 1;

    [JsonPropertyName("max_steps")]
    public int MaxSteps { get; init; } = 8;

    [JsonPropertyName("guidance_scale")]
    public float GuidanceScale { get; init; }

    [JsonPropertyName("max_guidance_scale")]
    public float MaxGuidanceScale { get; init; } = 20f;

    /// <summary>Default width; null takes the pipeline's own default (UNet sample_size × VAE scale factor).</summary>
    [JsonPropertyName("width")]
    public int? Width { get; init; }

    [JsonPropertyName("height")]
    public int? Height { get; init; }

    [JsonPropertyName("max_width")]
    public int MaxWidth { get; init; } = 1024;

    [JsonPropertyName("max_height")]
    public int MaxHeight { get; init; } = 1024;

    /// <summary>Scheduler config fields this model needs changed (SDXL-Lightning 1-step: <c>prediction_type: "sample"</c>).</summary>
    [JsonPropertyName("scheduler_overrides")]
    public IReadOnlyDictionary<string, JsonElement>? SchedulerOverrides { get; init; }

    /// <summary>
    /// Replaces the folder's scheduler (<c>_class_name</c> and fields laid over its <c>scheduler_config.json</c>, as
    /// diffusers' <c>LCMScheduler.from_config(pipe.scheduler.config)</c>): LCM-LoRA on a model that ships Euler.
    /// </summary>
    [JsonPropertyName("scheduler")]
    public IReadOnlyDictionary<string, JsonElement>? Scheduler { get; init; }

    /// <summary>LoRAs merged into the model for this entry (e.g. base SDXL + LCM-LoRA), before any a request adds.</summary>
    [JsonPropertyName("loras")]
    public IReadOnlyList<CatalogLora>? Loras { get; init; }

    /// <summary>The model folder for this entry under <paramref name="modelRoot"/>.</summary>
    public string ResolveFolder(string modelRoot) =>
        Path.GetFullPath(Path.Combine(modelRoot, Folder ?? Name));

    /// <summary>Problems with this entry, each naming the field.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var at = $"model '{Name}'";
        if (string.IsNullOrWhiteSpace(Name))
        {
            errors.Add("a catalog entry has no name");
        }

        if (MinSteps < 1 || MaxSteps < MinSteps || Steps < MinSteps || Steps > MaxSteps)
        {
            errors.Add($"{at}: need 1 ≤ min_steps ≤ steps ≤ max_steps (have {MinSteps} ≤ {Steps} ≤ {MaxSteps})");
        }

        if (!float.IsFinite(GuidanceScale) || GuidanceScale < 0 || !float.IsFinite(MaxGuidanceScale) || GuidanceScale > MaxGuidanceScale)
        {
            errors.Add($"{at}: need 0 ≤ guidance_scale ≤ max_guidance_scale (have {GuidanceScale} and {MaxGuidanceScale})");
        }

        if (Scheduler is { Count: > 0 } scheduler && (!scheduler.TryGetValue("_class_name", out var className) || className.ValueKind != JsonValueKind.String))
        {
            errors.Add($"{at}: scheduler needs \"_class_name\" (the scheduler class that replaces the folder's)");
        }

        foreach (var lora in Loras ?? [])
        {
            if (!LoraNames.IsValid(lora.Name) || !float.IsFinite(lora.Scale))
            {
                errors.Add($"{at}: loras: '{lora.Name}' needs a LoRA name (letters, digits, '.', '_', '-') and a finite scale");
            }
        }

        if (MaxWidth < 8 || MaxHeight < 8 || Width is < 8 || Height is < 8 || Width > MaxWidth || Height > MaxHeight)
        {
            errors.Add($"{at}: width/height must be at least 8 and within max_width/max_height");
        }

        return errors;
    }
}
