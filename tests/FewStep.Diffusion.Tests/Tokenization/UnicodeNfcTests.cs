using FewStep.Diffusion.Tokenization;

namespace FewStep.Diffusion.Tests.Tokenization;

/// <summary>
/// The NFC the tokenizer's clean-up uses (.NET over ICU) against Python's <c>unicodedata.normalize("NFC", ...)</c>,
/// and the Unicode 14 unassigned table that keeps it to the reference's character set.
/// </summary>
public sealed class UnicodeNfcTests
{
    [Theory]
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("e\u0301", "\u00E9")]
    [InlineData("A\u030A\u0323", "\u1EA0\u030A")]
    [InlineData("\u212B", "\u00C5")]
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]
    [InlineData("\uAC00\u11A8", "\uAC01")]
    [InlineData("\u0958", "\u0915\u093C")]
    [InlineData("q\u0307\u0323", "q\u0323\u0307")]
    [InlineData("\u1E9B\u0323", "\u1E9B\u0323")]
    [InlineData("\u0344", "\u0308\u0301")]
    [InlineData("a\u05B0\u0301\u0323b", "\u1EA1\u05B0\u0301b")]
    [InlineData("\u0301e", "\u0301e")]
    public void Clean_up_composes_like_python(string input, string expected)
    {
        Assert.Equal(ClipTextCleaner.ToLowerLikePython(expected), ClipTextCleaner.Clean(input));
    }

    [Fact]
    public void Tables_are_unicode_14_like_the_reference()
    {
        Assert.Equal("14.0.0", UnassignedCodePoints.UnicodeVersion);
        Assert.True(UnassignedCodePoints.Contains(0x1FAE8));
        Assert.False(UnassignedCodePoints.Contains('a'));
    }
}
