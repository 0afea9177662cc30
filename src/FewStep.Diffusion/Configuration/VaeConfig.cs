using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Configuration;

/// <summary><c>vae_decoder/config.json</c> (diffusers <c>AutoencoderKL</c>).</summary>
public sealed record VaeConfig
{
    [JsonPropertyName("_class_name")]
    public string? ClassName { get; init; }

    [JsonPropertyName("scaling_factor")]
    public float ScalingFactor { get; init; } = 0.18215f;

    [JsonPropertyName("block_out_channels")]
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [64];

    [JsonPropertyName("latent_channels")]
    public int LatentChannels { get; init; } = 4;

    [JsonPropertyName("out_channels")]
    public int OutChannels { get; init; } = 3;

    [JsonPropertyName("force_upcast")]
    public bool ForceUpcast { get; init; } = true;

    /// <summary>Per-channel latent statistics some VAEs declare; SDXL's pipeline de-normalises with them when present.</summary>
    [JsonPropertyName("latents_mean")]
    public IReadOnlyList<float>? LatentsMean { get; init; }

    [JsonPropertyName("latents_std")]
    public IReadOnlyList<float>? LatentsStd { get; init; }

    /// <summary>diffusers: <c>2 ** (len(vae.config.block_out_channels) - 1)</c>.</summary>
    [JsonIgnore]
    public int ScaleFactor => 1 << Math.Max(0, BlockOutChannels.Count - 1);
}
