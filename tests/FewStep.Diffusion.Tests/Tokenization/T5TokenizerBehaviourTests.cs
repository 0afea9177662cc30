using FewStep.Diffusion.Tokenization;

namespace FewStep.Diffusion.Tests.Tokenization;

/// <summary>Edges of the T5 tokenizer and PixArt's text pre-processing that the vectors do not cover.</summary>
public sealed class T5TokenizerBehaviourTests
{
    private static readonly Lazy<T5Tokenizer> s_tokenizer = new(() => T5Tokenizer.Load(Path.Combine(ConformancePaths.Model("tiny-pixart-lcm"), "tokenizer")));

    [Fact]
    public void Empty_and_blank_texts_are_just_eos()
    {
        Assert.Equal([1], s_tokenizer.Value.EncodeUntruncated(string.Empty));
        Assert.Equal([1], s_tokenizer.Value.EncodeUntruncated("   "));
        var encoded = s_tokenizer.Value.Encode(string.Empty);
        Assert.Equal(120, encoded.Ids.Length);
        Assert.Equal(1, encoded.AttentionMask.Sum());
    }

    [Fact]
    public void A_literal_eos_at_the_end_is_not_doubled()
    {
        var ids = s_tokenizer.Value.EncodeUntruncated("a</s>");

        Assert.Equal(1, ids[^1]);
        Assert.NotEqual(1, ids[^2]);
    }

    [Fact]
    public void Truncation_keeps_max_length_minus_one_pieces_and_eos()
    {
        var text = string.Join(' ', Enumerable.Repeat("cat", 200));

        var encoded = s_tokenizer.Value.Encode(text, maxLength: 16);

        Assert.True(encoded.Truncated);
        Assert.Equal(16, encoded.Ids.Length);
        Assert.Equal(1, encoded.Ids[15]);
        Assert.All(encoded.AttentionMask, m => Assert.Equal(1, m));
        Assert.Equal(s_tokenizer.Value.EncodeUntruncated(text).Length, encoded.UntruncatedLength);
    }

    [Theory]
    [InlineData("  A Tiny Robot, WATERCOLOR  ", "a tiny robot, watercolor")]
    [InlineData("ΟΔΟΣ Σ", "οδος σ")]
    [InlineData("İ", "i\u0307")]
    [InlineData("\u001f x \u001c", "x")]
    public void Pixart_preprocessing_is_pythons_lower_and_strip(string text, string expected)
    {
        Assert.Equal(expected, PythonText.PixArtPreprocess(text));
    }

    [Fact]
    public void A_missing_model_file_is_named()
    {
        var folder = Directory.CreateTempSubdirectory("fewstep-t5-");
        try
        {
            var e = Assert.Throws<DiffusionException>(() => T5Tokenizer.Load(folder.FullName));
            Assert.Contains("spiece.model", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
