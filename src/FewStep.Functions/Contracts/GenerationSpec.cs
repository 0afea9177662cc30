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

    [JsonIgnore]
    public int ImageCount => Prompts.Count * NumImagesPerPrompt;

    /// <summary>
    /// The seed of image <paramref name="imageIndex"/> of prompt <paramref name="promptIndex"/>: the request seed
    /// plus the image's prompt-major position, kept non-negative. Rendering one image alone with this seed gives
    /// the same picture.
    /// </summary>
    public long ImageSeed(int promptIndex, int imageIndex) =>
        unchecked(Seed + ((long)promptIndex * NumImagesPerPrompt) + imageIndex) & long.MaxValue;
}
