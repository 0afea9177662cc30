using FewStep.Diffusion.Tokenization;

namespace FewStep.Diffusion.Tests.Tokenization;

/// <summary>
/// Input the conformance prompts do not reach. Expected ids come from a line-by-line Python port of transformers'
/// slow CLIPTokenizer without ftfy (Python 3.11, Unicode 14, the `regex` module), checked against all 30 vectors;
/// while it was written, 10,000 random prompts (any code point, specials, combining marks) gave identical ids.
/// </summary>
public sealed class ClipTokenizerBehaviourTests
{
    private const string EosFolder = "tiny-lcm/tokenizer";
    private const string BangFolder = "tiny-sd-turbo/tokenizer";

    public static TheoryData<string, int[]> ExoticPrompts() => new()
    {
        // Python's str.lower: final sigma after a cased letter (a following "." is case-ignorable), σ elsewhere.
        { "\u0391\u03A3 \u039F\u0394\u039F\u03A3. \u03A3 \u03A3\u0391", [138, 109, 139, 480, 138, 123, 138, 112, 138, 123, 139, 480, 269, 139, 481, 139, 225, 138, 365] },
        // İ lower-cases to "i" + U+0307, which the pre-tokenizer separates.
        { "\u0130stanbul \u0130", [328, 16384, 11231, 328, 16384] },
        // Astral letters and digits are \p{L} / \p{N} for the reference.
        { "\U0001D400\U0001D401\U0001D402 math bold", [15889, 222, 15889, 223, 15889, 480, 6025, 8911] },
        { "\U0001D7D9\U0001D7DA digits", [6874, 253, 503, 6874, 253, 504, 31710] },
        // NFC composes a decomposed é, Hangul jamo, and reorders combining marks.
        { "cafe\u0301 vs caf\u00E9", [15304, 1547, 15304] },
        { "\u1100\u1161\u11A8 hangul", [21122, 479, 1545, 21350] },
        { "a\u0323\u0301 q\u0307\u0323", [157, 118, 350, 136, 479, 336, 136, 96, 16384] },
        // Line and paragraph separators split words; BOM and soft hyphen (format characters) are dropped.
        { "x\u2028y\u2029z", [343, 344, 345] },
        { "\uFEFFbom soft\u00ADhyphen", [19469, 1571, 7804, 745, 576] },
        // Specials the no-split step misses still become one token once lower-cased, even after punctuation.
        { "<|ENDOFTEXT|> upper", [49407, 7067] },
        { "a.<|endoftext|>b", [320, 269, 49407, 321] },
        // IGNORECASE: the long s case-folds to "s", so "'\u017F" is the contraction "'s" (but a lone one is a letter).
        { "it'S '\u017F \u017F", [585, 568, 6, 129, 379, 129, 379] },
        // Python's regex under IGNORECASE matches U+0345 with no alternative (it folds to a letter), so it is dropped
        // and splits runs; precomposed U+1FB3 (which contains it canonically) stays one letter.
        { "a\u0345b !\u0345? \u1FB3", [320, 321, 256, 286, 157, 122, 367] },
        // U+1FAE8 is new in Unicode 15: unassigned for the reference's Python (Unicode 14), so dropped.
        { "shaking \U0001FAE8 face", [19101, 1710] },
        { "\u216B roman", [158, 227, 375, 7370] },
        { "\U00020000x\u4E00y", [172, 254, 222, 478, 343, 19759, 478, 344] },
    };

    [Theory]
    [MemberData(nameof(ExoticPrompts))]
    public void Exotic_prompts_match_the_reference(string prompt, int[] expectedContent)
    {
        ClipTokenizer tokenizer = TokenizerVectors.Tokenizer(EosFolder);

        int[] ids = tokenizer.EncodeUntruncated(prompt);

        Assert.Equal([tokenizer.BosTokenId, .. expectedContent, tokenizer.EosTokenId], ids);
    }

    [Fact]
    public void Bang_is_a_token_of_its_own_where_it_pads()
    {
        ClipTokenizer bang = TokenizerVectors.Tokenizer(BangFolder);
        ClipTokenizer eos = TokenizerVectors.Tokenizer(EosFolder);

        Assert.Equal(["hello</w>", "!", "!", "!", "what</w>"], bang.Tokenize("hello!!! what"));
        Assert.Equal([49406, 3306, 0, 0, 0, 768, 49407], bang.EncodeUntruncated("hello!!! what"));
        Assert.Equal(["hello</w>", "!!!</w>", "what</w>"], eos.Tokenize("hello!!! what"));
    }

    [Fact]
    public void Special_token_ids_come_from_the_folder()
    {
        ClipTokenizer eos = TokenizerVectors.Tokenizer(EosFolder);
        ClipTokenizer bang = TokenizerVectors.Tokenizer(BangFolder);

        Assert.Equal((77, 49406, 49407, 49407), (eos.ModelMaxLength, eos.BosTokenId, eos.EosTokenId, eos.PadTokenId));
        Assert.Equal((77, 49406, 49407, 0), (bang.ModelMaxLength, bang.BosTokenId, bang.EosTokenId, bang.PadTokenId));
    }

    [Fact]
    public void Empty_prompt_is_bos_eos_then_padding()
    {
        ClipTokenizer bang = TokenizerVectors.Tokenizer(BangFolder);

        TokenizedText encoded = bang.Encode(string.Empty);

        Assert.Equal([49406, 49407, .. Enumerable.Repeat(0, 75)], encoded.Ids);
        Assert.Equal(2, encoded.UntruncatedLength);
        Assert.False(encoded.Truncated);
        Assert.Empty(bang.Tokenize(string.Empty));
    }

    [Fact]
    public void Truncation_keeps_bos_the_first_tokens_and_eos()
    {
        ClipTokenizer tokenizer = TokenizerVectors.Tokenizer(EosFolder);
        string prompt = string.Join(' ', Enumerable.Repeat("cat", 100));

        TokenizedText encoded = tokenizer.Encode(prompt);

        Assert.True(encoded.Truncated);
        Assert.Equal(102, encoded.UntruncatedLength);
        Assert.Equal(49406, encoded.Ids[0]);
        Assert.All(encoded.Ids[1..76], id => Assert.Equal(2368, id));
        Assert.Equal(49407, encoded.Ids[76]);
    }

    [Fact]
    public void Exactly_full_prompt_is_not_truncated()
    {
        ClipTokenizer tokenizer = TokenizerVectors.Tokenizer(EosFolder);
        string prompt = string.Join(' ', Enumerable.Repeat("cat", 75));

        TokenizedText encoded = tokenizer.Encode(prompt);

        Assert.False(encoded.Truncated);
        Assert.Equal(77, encoded.UntruncatedLength);
        Assert.Equal(tokenizer.EncodeUntruncated(prompt), encoded.Ids);
    }

    [Fact]
    public async Task Concurrent_encodes_give_the_same_ids()
    {
        ClipTokenizer tokenizer = ClipTokenizer.Load(TokenizerVectors.FolderPath(BangFolder));
        string[] prompts = [.. TokenizerVectors.Cases.Select(c => c.Prompt)];
        ClipTokenizer reference = ClipTokenizer.Load(TokenizerVectors.FolderPath(BangFolder));
        int[][] expected = [.. prompts.Select(p => reference.Encode(p).Ids)];

        Task<bool>[] workers = [.. Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            bool allEqual = true;
            for (int round = 0; round < 20; round++)
            {
                for (int i = 0; i < prompts.Length; i++)
                {
                    int index = (i + worker + round) % prompts.Length;
                    allEqual &= tokenizer.Encode(prompts[index]).Ids.AsSpan().SequenceEqual(expected[index]);
                }
            }

            return allEqual;
        }))];

        bool[] results = await Task.WhenAll(workers);

        Assert.All(results, Assert.True);
    }
}
