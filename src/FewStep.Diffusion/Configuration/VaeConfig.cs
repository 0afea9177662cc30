using System.Text.Json;
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

    /// <summary>The image size the VAE was trained at: an int, or [height, width] in some configs; diffusers' default 32.</summary>
    [JsonPropertyName("sample_size")]
    public JsonElement SampleSize { get; init; }

    /// <summary>
    /// diffusers' <c>tile_sample_min_size</c> for tiled decoding: <c>sample_size</c>, or its first entry when a list
    /// (AutoencoderKL reads <c>sample_size[0]</c>).
    /// </summary>
    [JsonIgnore]
    public int TileSampleSize => SampleSize.ValueKind switch
    {
        JsonValueKind.Number => SampleSize.GetInt32(),
        JsonValueKind.Array when SampleSize.GetArrayLength() > 0 => SampleSize[0].GetInt32(),
        _ => 32,
    };

    /// <summary>diffusers' <c>tile_latent_min_size</c>: <c>int(sample_size / 2 ** (len(block_out_channels) - 1))</c>.</summary>
    [JsonIgnore]
    public int TileLatentSize => TileSampleSize / ScaleFactor;

    /// <summary>diffusers: <c>2 ** (len(vae.config.block_out_channels) - 1)</c>.</summary>
    [JsonIgnore]
    public int ScaleFactor => 1 << Math.Max(0, BlockOutChannels.Count - 1);
}
