using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Tests.Tokenization;

/// <summary>One entry of conformance/tokenizers.json.</summary>
internal sealed record TokenizerCase(
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("bpe_tokens")] List<string> BpeTokens,
    [property: JsonPropertyName("untruncated_ids")] List<int> UntruncatedIds,
    [property: JsonPropertyName("untruncated_length")] int UntruncatedLength,
    [property: JsonPropertyName("truncated")] bool Truncated,
    [property: JsonPropertyName("ids_pad_eos")] List<int> IdsPadEos,
    [property: JsonPropertyName("ids_pad_bang")] List<int> IdsPadBang);
