using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>
/// A validated generation: the request with the model's recommended settings filled in and the seed chosen.
/// Text lists hold one entry per prompt (or are null). Travels in durable history, so it stays small.
/// </summary>
public sealed record GenerationSpec
{
    public required string Model { get; init; }

    public required IReadOnlyList<string> Prompts { get; init; }

    public IReadOnlyList<string>? Prompts2 { get; init; }

    public IReadOnlyList<string>? NegativePrompts { get; init; }

    public IReadOnlyList<string>? NegativePrompts2 { get; init; }

    public required int NumInferenceSteps { get; init; }

    public required float GuidanceScale { get; init; }

    public required int Width { get; init; }

    public required int Height { get; init; }

    /// <summary>The request seed; image k (prompt-major) uses <see cref="ImageSeed"/>.</summary>
    public required long Seed { get; init; }

    /// <summary>Whether the caller gave the seed (false: chosen at random when the request arrived).</summary>
    public bool SeedWasGiven { get; init; }

    public required int NumImagesPerPrompt { get; init; }

    public string? WebhookUrl { get; init; }

    /// <summary>The torch normal kernel the images' noise is drawn with (a service setting, recorded with the request).</summary>
    public FewStep.Diffusion.Noise.TorchNormalKernel NoiseKernel { get; init; }

    /// <summary>PixArt only: generate at the closest aspect-ratio bin and resize back (diffusers' resolution binning).</summary>
    public bool UseResolutionBinning { get; init; }

    /// <summary>The LoRAs merged into the model for these images, in order: the catalog model's own, then the request's.</summary>
    public IReadOnlyList<LoraChoice>? Loras { get; init; }

    /// <summary>
    /// The scheduler replacing the model folder's (<c>_class_name</c> and fields laid over its config): the
    /// request's, else the catalog model's; null keeps the folder's.
    /// </summary>
    public IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Scheduler { get; init; }

    [JsonIgnore]
    public int ImageCount => Prompts.Count * NumImagesPerPrompt;

    /// <summary>
    /// The seed of image <paramref name="imageIndex"/> of prompt <paramref name="promptIndex"/>: the request seed
    /// plus the image's prompt-major position, kept non-negative. Rendering one image alone with this seed gives
    /// the same picture.
    /// </summary>
    /// <summary>What images must share to render in one pipeline call besides the sizes: the LoRAs and the scheduler.</summary>
    [JsonIgnore]
    public string PipelineVariant =>
        string.Join(",", (Loras ?? []).Select(l => FormattableString.Invariant($"{l.Name}:{l.Scale:R}")))
        + "|" + (Scheduler is null ? string.Empty : System.Text.Json.JsonSerializer.Serialize(Scheduler));

    public long ImageSeed(int promptIndex, int imageIndex) =>
        unchecked(Seed + ((long)promptIndex * NumImagesPerPrompt) + imageIndex) & long.MaxValue;
}
