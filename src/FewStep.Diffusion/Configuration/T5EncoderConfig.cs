using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Configuration;

/// <summary><c>text_encoder/config.json</c> of a PixArt folder (transformers <c>T5Config</c>).</summary>
public sealed record T5EncoderConfig
{
    [JsonPropertyName("architectures")]
    public IReadOnlyList<string>? Architectures { get; init; }

    [JsonPropertyName("model_type")]
    public string? ModelType { get; init; }

    /// <summary>The width of <c>last_hidden_state</c> (4096 for T5-XXL).</summary>
    [JsonPropertyName("d_model")]
    public int DModel { get; init; }

    [JsonPropertyName("num_layers")]
    public int NumLayers { get; init; }
}
