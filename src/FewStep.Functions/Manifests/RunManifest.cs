using System.Text.Json.Serialization;
using FewStep.Functions.Contracts;

namespace FewStep.Functions.Manifests;

/// <summary>
/// <c>manifest.json</c> of a run, generation or job alike: each request's outcome and images, the run's status,
/// and timings. One record type per level so every key has exactly one spelling.
/// </summary>
public sealed record RunManifest
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary><c>generation</c> or <c>job</c>.</summary>
    [JsonPropertyName("kind")]
    public required string Kind { get; init; }

    [JsonPropertyName("status")]
    public required string Status { get; init; }

    [JsonPropertyName("error")]
    public GenerationError? Error { get; init; }

    /// <summary>A job's file (<c>jobs/{name}</c>) and the ETag of the upload that ran.</summary>
    [JsonPropertyName("source")]
    public string? Source { get; init; }

    [JsonPropertyName("etag")]
    public string? ETag { get; init; }

    [JsonPropertyName("requests_total")]
    public required int RequestsTotal { get; init; }

    [JsonPropertyName("requests_failed")]
    public required int RequestsFailed { get; init; }

    [JsonPropertyName("images_total")]
    public required int ImagesTotal { get; init; }

    [JsonPropertyName("images_expected")]
    public required int ImagesExpected { get; init; }

    [JsonPropertyName("requests")]
    public required IReadOnlyList<ManifestRequest> Requests { get; init; }

    [JsonPropertyName("timings")]
    public required ManifestTimings Timings { get; init; }
}

/// <summary>One request of a run: its outcome, the normalized request and its images.</summary>
public sealed record ManifestRequest
{
    /// <summary>The job file line it starts on; absent for a posted generation.</summary>
    [JsonPropertyName("line")]
    public int? Line { get; init; }

    /// <summary><c>succeeded</c>, <c>failed</c> or <c>canceled</c> (the run was canceled before all its images were made).</summary>
    [JsonPropertyName("status")]
    public required string Status { get; init; }

    [JsonPropertyName("error")]
    public GenerationError? Error { get; init; }

    [JsonPropertyName("request")]
    public required ManifestRequestSpec Request { get; init; }

    [JsonPropertyName("images_expected")]
    public required int ImagesExpected { get; init; }

    [JsonPropertyName("images")]
    public required IReadOnlyList<ManifestImage> Images { get; init; }
}

/// <summary>A request as it was run: the caller's fields with the model's defaults and the seed filled in.</summary>
public sealed record ManifestRequestSpec
{
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("prompts")]
    public required IReadOnlyList<string> Prompts { get; init; }

    [JsonPropertyName("prompts_2")]
    public IReadOnlyList<string>? Prompts2 { get; init; }

    [JsonPropertyName("negative_prompts")]
    public IReadOnlyList<string>? NegativePrompts { get; init; }

    [JsonPropertyName("negative_prompts_2")]
    public IReadOnlyList<string>? NegativePrompts2 { get; init; }

    [JsonPropertyName("num_inference_steps")]
    public required int NumInferenceSteps { get; init; }

    [JsonPropertyName("guidance_scale")]
    public required float GuidanceScale { get; init; }

    [JsonPropertyName("width")]
    public required int Width { get; init; }

    [JsonPropertyName("height")]
    public required int Height { get; init; }

    [JsonPropertyName("seed")]
    public required long Seed { get; init; }

    [JsonPropertyName("num_images_per_prompt")]
    public required int NumImagesPerPrompt { get; init; }

    [JsonPropertyName("use_resolution_binning")]
    public bool? UseResolutionBinning { get; init; }

    /// <summary>How the seeds became noise: one torch CPU generator per image (as diffusers' <c>generator=</c> list).</summary>
    [JsonPropertyName("noise")]
    public string Noise { get; init; } = FewStep.Diffusion.Noise.TorchNoiseSource.Name;

    [JsonPropertyName("noise_kernel")]
    public required FewStep.Diffusion.Noise.TorchNormalKernel NoiseKernel { get; init; }

    /// <summary>The LoRAs merged into the model (the catalog model's, then the request's), absent for none.</summary>
    [JsonPropertyName("loras")]
    public IReadOnlyList<LoraChoice>? Loras { get; init; }

    /// <summary>The scheduler that replaced the model folder's, absent when the folder's ran.</summary>
    [JsonPropertyName("scheduler")]
    public IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Scheduler { get; init; }

    public static ManifestRequestSpec From(GenerationSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new ManifestRequestSpec
        {
            Model = spec.Model,
            Prompts = spec.Prompts,
            Prompts2 = spec.Prompts2,
            NegativePrompts = spec.NegativePrompts,
            NegativePrompts2 = spec.NegativePrompts2,
            NumInferenceSteps = spec.NumInferenceSteps,
            GuidanceScale = spec.GuidanceScale,
            Width = spec.Width,
            Height = spec.Height,
            Seed = spec.Seed,
            NumImagesPerPrompt = spec.NumImagesPerPrompt,
            UseResolutionBinning = spec.UseResolutionBinning ? true : null,
            NoiseKernel = spec.NoiseKernel,
            Loras = spec.Loras is { Count: > 0 } loras ? loras : null,
            Scheduler = spec.Scheduler,
        };
    }
}

/// <summary>One stored image, with a read-only URL valid for the SAS lifetime from when the manifest was written.</summary>
public sealed record ManifestImage(
    [property: JsonPropertyName("prompt_index")] int PromptIndex,
    [property: JsonPropertyName("image_index")] int ImageIndex,
    [property: JsonPropertyName("seed")] long Seed,
    [property: JsonPropertyName("blob")] string Blob,
    [property: JsonPropertyName("url")] string Url);

public sealed record ManifestTimings(
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("completed_at")] DateTimeOffset CompletedAt,
    [property: JsonPropertyName("wall_seconds")] double WallSeconds,
    [property: JsonPropertyName("batches")] int Batches,
    [property: JsonPropertyName("render_seconds")] double RenderSeconds);
