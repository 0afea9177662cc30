using FewStep.Diffusion.Tokenization;

namespace FewStep.Diffusion.Tests.Tokenization;

/// <summary>
/// Every prompt of conformance/tokenizers.json through each of the four tokenizer folders.
/// </summary>
/// <remarks>
/// <c>bpe_tokens</c> and <c>untruncated_ids</c> were recorded with a tokenizer that pads with EOS. In the folders that
/// pad with "!", "!" is a special token, so for prompts containing "!" those two are derived from
/// <c>ids_pad_bang</c> instead (content up to the first EOS; "!" pieces are id 0).
/// </remarks>
public sealed class ClipTokenizerConformanceTests
{
    private const int ReferenceEosId = 49407;

    public static TheoryData<int, string> CasesByFolder()
    {
        var data = new TheoryData<int, string>();
        foreach (string folder in TokenizerVectors.Folders.Keys)
        {
            for (int i = 0; i < TokenizerVectors.Cases.Count; i++)
            {
                data.Add(i, folder);
            }
        }

        return data;
    }

    [Fact]
    public void Vectors_hold_thirty_cases()
    {
        Assert.Equal(30, TokenizerVectors.Cases.Count);
    }

    [Theory]
    [MemberData(nameof(CasesByFolder))]
    public void Tokenize_matches_bpe_tokens(int index, string folder)
    {
        TokenizerCase vector = TokenizerVectors.Cases[index];
        ClipTokenizer tokenizer = TokenizerVectors.Tokenizer(folder);

        IReadOnlyList<string> pieces = tokenizer.Tokenize(vector.Prompt);

        if (BangIsSpecial(folder, vector))
        {
            int[] content = ExpectedUntruncated(folder, vector)[1..^1];
            Assert.Equal(content.Length, pieces.Count);
            for (int i = 0; i < content.Length; i++)
            {
                Assert.Equal(content[i] == tokenizer.PadTokenId, pieces[i] == "!");
            }
        }
        else
        {
            Assert.Equal(vector.BpeTokens, pieces);
        }
    }

    [Theory]
    [MemberData(nameof(CasesByFolder))]
    public void EncodeUntruncated_matches_untruncated_ids(int index, string folder)
    {
        TokenizerCase vector = TokenizerVectors.Cases[index];
        ClipTokenizer tokenizer = TokenizerVectors.Tokenizer(folder);

        int[] ids = tokenizer.EncodeUntruncated(vector.Prompt);

        Assert.Equal(ExpectedUntruncated(folder, vector), ids);
    }

    [Theory]
    [MemberData(nameof(CasesByFolder))]
    public void Encode_matches_padded_ids(int index, string folder)
    {
        TokenizerCase vector = TokenizerVectors.Cases[index];
        ClipTokenizer tokenizer = TokenizerVectors.Tokenizer(folder);
        List<int> expected = TokenizerVectors.Folders[folder] ? vector.IdsPadBang : vector.IdsPadEos;
        int[] untruncated = ExpectedUntruncated(folder, vector);

        TokenizedText encoded = tokenizer.Encode(vector.Prompt);

        Assert.Equal(tokenizer.ModelMaxLength, encoded.Ids.Length);
        Assert.Equal(expected, encoded.Ids);
        Assert.Equal(untruncated.Length, encoded.UntruncatedLength);
        Assert.Equal(untruncated.Length > tokenizer.ModelMaxLength, encoded.Truncated);
        if (!BangIsSpecial(folder, vector))
        {
            Assert.Equal(vector.UntruncatedLength, encoded.UntruncatedLength);
            Assert.Equal(vector.Truncated, encoded.Truncated);
        }
    }

    private static bool BangIsSpecial(string folder, TokenizerCase vector) =>
        TokenizerVectors.Folders[folder] && vector.Prompt.Contains('!', StringComparison.Ordinal);

    private static int[] ExpectedUntruncated(string folder, TokenizerCase vector)
    {
        if (!BangIsSpecial(folder, vector))
        {
            return [.. vector.UntruncatedIds];
        }

        int eos = vector.IdsPadBang.IndexOf(ReferenceEosId, 1);
        Assert.True(eos > 0 && eos < vector.IdsPadBang.Count - 1, "A truncated '!' prompt cannot be derived from ids_pad_bang.");
        return [.. vector.IdsPadBang.Take(eos + 1)];
    }
}
