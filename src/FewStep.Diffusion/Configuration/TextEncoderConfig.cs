using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Configuration;

/// <summary><c>text_encoder*/config.json</c> (transformers <c>CLIPTextConfig</c>).</summary>
public sealed record TextEncoderConfig
{
    [JsonPropertyName("architectures")]
    public IReadOnlyList<string>? Architectures { get; init; }

    [JsonPropertyName("model_type")]
    public string? ModelType { get; init; }

    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; init; }

    [JsonPropertyName("projection_dim")]
    public int? ProjectionDim { get; init; }

    [JsonPropertyName("num_hidden_layers")]
    public int NumHiddenLayers { get; init; }

    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; init; } = 77;
}
