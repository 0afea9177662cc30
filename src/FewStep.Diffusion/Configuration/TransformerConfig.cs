using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Configuration;

/// <summary><c>transformer/config.json</c> (diffusers <c>Transformer2DModel</c> as PixArt uses it): the fields the pipeline reads.</summary>
public sealed record TransformerConfig
{
    [JsonPropertyName("_class_name")]
    public string? ClassName { get; init; }

    /// <summary>The latent side of the training resolution (128 for the 1024 models). 128 also switches on the resolution and aspect-ratio conditions.</summary>
    [JsonPropertyName("sample_size")]
    public int? SampleSize { get; init; }

    [JsonPropertyName("in_channels")]
    public int InChannels { get; init; } = 4;

    /// <summary>Twice <see cref="InChannels"/> when the model learns its variance (PixArt: 8).</summary>
    [JsonPropertyName("out_channels")]
    public int? OutChannels { get; init; }

    [JsonPropertyName("patch_size")]
    public int PatchSize { get; init; } = 2;

    /// <summary>The width of the T5 embeddings the caption projection takes.</summary>
    [JsonPropertyName("caption_channels")]
    public int? CaptionChannels { get; init; }

    [JsonPropertyName("norm_type")]
    public string? NormType { get; init; }

    /// <summary>The output channel count (diffusers: <c>in_channels</c> when <c>out_channels</c> is unset).</summary>
    [JsonIgnore]
    public int OutputChannels => OutChannels ?? InChannels;

    /// <summary>
    /// diffusers 0.27 <c>use_additional_conditions</c>: the model and the pipeline pass <c>resolution</c> and
    /// <c>aspect_ratio</c> only when <c>sample_size</c> is 128.
    /// </summary>
    [JsonIgnore]
    public bool UsesResolutionConditions => SampleSize == 128;

    /// <summary>Whether the output carries a learned variance after the prediction (the pipeline keeps the first half).</summary>
    [JsonIgnore]
    public bool LearnedSigma => OutputChannels / 2 == InChannels && OutputChannels != InChannels;
}
