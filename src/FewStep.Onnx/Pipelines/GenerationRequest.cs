using System.Text.Json;

namespace FewStep.Onnx.Pipelines;

/// <summary>
/// One text-to-image call, with diffusers' argument names. Prompt lists give one entry per prompt; a
/// negative list holds one entry (used for every prompt) or one per prompt.
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>diffusers <c>prompt</c>: one or more prompts.</summary>
    public required IReadOnlyList<string> Prompts { get; init; }

    /// <summary>SDXL <c>prompt_2</c> for the second text encoder; defaults to <see cref="Prompts"/>.</summary>
    public IReadOnlyList<string>? Prompts2 { get; init; }

    /// <summary><c>negative_prompt</c>; null means none (SDXL then uses zero embeddings where the model says so).</summary>
    public IReadOnlyList<string>? NegativePrompts { get; init; }

    /// <summary>SDXL <c>negative_prompt_2</c>; defaults to <see cref="NegativePrompts"/>.</summary>
    public IReadOnlyList<string>? NegativePrompts2 { get; init; }

    public int NumInferenceSteps { get; init; } = 1;

    /// <summary>Classifier-free guidance above 1 (SD, SDXL, PixArt); LCM embeds w = guidance − 1 instead.</summary>
    public float GuidanceScale { get; init; }

    /// <summary>Pixels; null takes the model's default (UNet or transformer sample_size × VAE scale factor).</summary>
    public int? Width { get; init; }

    public int? Height { get; init; }

    public int NumImagesPerPrompt { get; init; } = 1;

    /// <summary>
    /// PixArt <c>use_resolution_binning</c> (off by default): generate at the closest size of the model's aspect-ratio
    /// bins (<c>ASPECT_RATIO_1024_BIN</c> for a 1024 model) and resize the decoded image back to the requested size.
    /// Other families reject it.
    /// </summary>
    public bool UseResolutionBinning { get; init; }

    /// <summary>
    /// Replaces the model folder's scheduler for this call: <c>_class_name</c> (required) and any config fields, laid
    /// over the folder's <c>scheduler_config.json</c> as diffusers' <c>LCMScheduler.from_config(pipe.scheduler.config)</c>
    /// does (LCM-LoRA on a model that ships Euler). Applied before <see cref="SchedulerOverrides"/>.
    /// </summary>
    public IReadOnlyDictionary<string, JsonElement>? Scheduler { get; init; }

    /// <summary>Scheduler config fields to override for this call, e.g. <c>prediction_type: "sample"</c>.</summary>
    public IReadOnlyDictionary<string, JsonElement>? SchedulerOverrides { get; init; }

    /// <summary>Images this request makes: prompts × images per prompt.</summary>
    public int ImageCount => Prompts.Count * NumImagesPerPrompt;
}
