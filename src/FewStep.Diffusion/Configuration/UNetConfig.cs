using System.Text.Json;
using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Configuration;

/// <summary><c>unet/config.json</c> (diffusers <c>UNet2DConditionModel</c>): the fields the pipelines read.</summary>
public sealed record UNetConfig
{
    [JsonPropertyName("_class_name")]
    public string? ClassName { get; init; }

    [JsonPropertyName("sample_size")]
    public int? SampleSize { get; init; }

    [JsonPropertyName("in_channels")]
    public int InChannels { get; init; } = 4;

    [JsonPropertyName("out_channels")]
    public int OutChannels { get; init; } = 4;

    [JsonPropertyName("block_out_channels")]
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [320, 640, 1280, 1280];

    /// <summary>An int, or a list (one per block) in some configs.</summary>
    /// <summary>Resnets per down block (diffusers' default 2); kohya's SGM block names of SDXL LoRAs are numbered by it.</summary>
    [JsonPropertyName("layers_per_block")]
    public int LayersPerBlock { get; init; } = 2;

    [JsonPropertyName("cross_attention_dim")]
    public JsonElement CrossAttentionDim { get; init; }

    [JsonPropertyName("addition_embed_type")]
    public string? AdditionEmbedType { get; init; }

    [JsonPropertyName("addition_time_embed_dim")]
    public int? AdditionTimeEmbedDim { get; init; }

    [JsonPropertyName("projection_class_embeddings_input_dim")]
    public int? ProjectionClassEmbeddingsInputDim { get; init; }

    [JsonPropertyName("time_cond_proj_dim")]
    public int? TimeCondProjDim { get; init; }

    /// <summary>Each down block but the last halves the latent, so latent sides must divide by this.</summary>
    [JsonIgnore]
    public int LatentSizeMultiple => 1 << Math.Max(0, BlockOutChannels.Count - 1);

    /// <summary>The encoder_hidden_states width the UNet expects (the largest if the config lists one per block).</summary>
    public int? CrossAttentionWidth() => CrossAttentionDim.ValueKind switch
    {
        JsonValueKind.Number => CrossAttentionDim.GetInt32(),
        JsonValueKind.Array => CrossAttentionDim.EnumerateArray().Max(e => e.GetInt32()),
        _ => null,
    };
}
