using System.Text.Json;
using System.Text.Json.Serialization;
using FewStep.Diffusion.Tokenization;

namespace FewStep.Diffusion.Tests.Tokenization;

/// <summary>
/// Every prompt of conformance/tokenizers_t5.json through tiny-pixart-lcm/tokenizer: PixArt's pre-processing
/// (<c>lower().strip()</c>), the pieces, the padded ids and attention mask, the untruncated ids and length, the
/// truncation flag, and the ids of the prompt as given.
/// </summary>
public sealed class T5TokenizerConformanceTests
{
    private static readonly Lazy<List<T5TokenizerCase>> s_cases = new(LoadCases);
    private static readonly Lazy<T5Tokenizer> s_tokenizer = new(() => T5Tokenizer.Load(Path.Combine(ConformancePaths.Model("tiny-pixart-lcm"), "tokenizer")));

    public static TheoryData<int> CaseIndices()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < s_cases.Value.Count; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Fact]
    public void Vectors_hold_twenty_cases_and_the_tokenizer_reads_its_config()
    {
        Assert.Equal(20, s_cases.Value.Count);
        Assert.Equal(120, s_tokenizer.Value.ModelMaxLength);
        Assert.Equal(0, s_tokenizer.Value.PadTokenId);
        Assert.Equal(1, s_tokenizer.Value.EosTokenId);
        Assert.Equal(2, s_tokenizer.Value.UnknownTokenId);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Pipeline_text_matches(int index)
    {
        var vector = s_cases.Value[index];

        Assert.Equal(vector.PipelineText, PythonText.PixArtPreprocess(vector.Prompt));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Pieces_match(int index)
    {
        var vector = s_cases.Value[index];

        Assert.Equal(vector.Pieces, s_tokenizer.Value.Tokenize(vector.PipelineText));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Padded_ids_and_attention_mask_match(int index)
    {
        var vector = s_cases.Value[index];

        var encoded = s_tokenizer.Value.Encode(vector.PipelineText);

        Assert.Equal(vector.InputIds, encoded.Ids);
        Assert.Equal(vector.AttentionMask, encoded.AttentionMask);
        Assert.Equal(vector.UntruncatedLength, encoded.UntruncatedLength);
        Assert.Equal(vector.Truncated, encoded.Truncated);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Untruncated_ids_match(int index)
    {
        var vector = s_cases.Value[index];

        var ids = s_tokenizer.Value.EncodeUntruncated(vector.PipelineText);

        Assert.Equal(vector.UntruncatedIds, ids);
        Assert.Equal(vector.UntruncatedLength, ids.Length);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Raw_prompt_ids_match(int index)
    {
        var vector = s_cases.Value[index];

        Assert.Equal(vector.RawPromptIds, s_tokenizer.Value.EncodeUntruncated(vector.Prompt));
    }

    private static List<T5TokenizerCase> LoadCases()
    {
        using var stream = File.OpenRead(ConformancePaths.T5TokenizersJson);
        return JsonSerializer.Deserialize<T5TokenizerFile>(stream)?.Cases
            ?? throw new InvalidOperationException($"'{ConformancePaths.T5TokenizersJson}' is empty.");
    }

    private sealed record T5TokenizerFile([property: JsonPropertyName("cases")] List<T5TokenizerCase> Cases);

    private sealed record T5TokenizerCase(
        [property: JsonPropertyName("prompt")] string Prompt,
        [property: JsonPropertyName("pipeline_text")] string PipelineText,
        [property: JsonPropertyName("pieces")] List<string> Pieces,
        [property: JsonPropertyName("input_ids")] List<int> InputIds,
        [property: JsonPropertyName("attention_mask")] List<int> AttentionMask,
        [property: JsonPropertyName("untruncated_ids")] List<int> UntruncatedIds,
        [property: JsonPropertyName("untruncated_length")] int UntruncatedLength,
        [property: JsonPropertyName("truncated")] bool Truncated,
        [property: JsonPropertyName("raw_prompt_ids")] List<int> RawPromptIds);
}
