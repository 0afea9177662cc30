using System.Globalization;
using System.Text;

namespace FewStep.Diffusion.Tokenization;

/// <summary>
/// CLIP's pre-tokenizer, the pattern
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// (IGNORECASE), matched the way Python's <c>regex.findall</c> does on cleaned, lower-cased text.
/// </summary>
/// <remarks>
/// Hand-written rather than a .NET <c>Regex</c>/<c>RegexPreTokenizer</c>: .NET regular expressions test categories per
/// UTF-16 char, so astral letters and digits (e.g. U+1D400) never match <c>\p{L}</c>/<c>\p{N}</c>, and
/// RegexPreTokenizer cuts special tokens out of the text in places the reference does not (the reference only
/// recognises them where the pattern's first alternatives start a match, not inside a punctuation run).
/// The pattern is CLIP's own (openai/CLIP simple_tokenizer.py), not something the tokenizer folder describes.
/// </remarks>
internal static class ClipPreTokenizer
{
    private const char LongS = '\u017F';

    // Under IGNORECASE Python's regex module tests a class against a character's case variants too, and U+0345
    // (category Mn, upper-case form Greek capital iota) then fits neither [\p{L}] nor [^\s\p{L}\p{N}]: no alternative
    // matches it, so it is dropped and ends the run it sits in. A scan of all code points finds no other such character.
    private const int CombiningYpogegrammeni = 0x0345;

    /// <summary>The literal alternatives of the pattern; CLIP's BPE returns them unchanged (its cache holds them).</summary>
    public static readonly IReadOnlyList<string> LiteralTokens = ["<|startoftext|>", "<|endoftext|>"];

    // Tried in the pattern's order.
    private static readonly string[] Contractions = ["s", "t", "re", "ve", "m", "ll", "d"];

    public static List<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);

        var pieces = new List<string>();
        int position = 0;
        while (position < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(position), out Rune rune, out int runeLength);
            if (Classify(rune) == CharClass.Unmatched)
            {
                // No alternative matches here; findall moves on one character.
                position += runeLength;
                continue;
            }

            int end = MatchAt(text, position, rune, runeLength);
            pieces.Add(text[position..end]);
            position = end;
        }

        return pieces;
    }

    private static int MatchAt(string text, int start, Rune first, int firstLength)
    {
        foreach (string literal in LiteralTokens)
        {
            if (text.AsSpan(start).StartsWith(literal, StringComparison.Ordinal))
            {
                return start + literal.Length;
            }
        }

        if (first.Value == '\'')
        {
            foreach (string contraction in Contractions)
            {
                if (MatchesContraction(text.AsSpan(start + 1), contraction))
                {
                    return start + 1 + contraction.Length;
                }
            }
        }

        CharClass firstClass = Classify(first);
        if (firstClass == CharClass.Number)
        {
            return start + firstLength;
        }

        // [\p{L}]+ or [^\s\p{L}\p{N}]+: extend greedily while the class stays the same.
        int end = start + firstLength;
        while (end < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(end), out Rune next, out int nextLength);
            if (Classify(next) != firstClass)
            {
                break;
            }

            end += nextLength;
        }

        return end;
    }

    // The text is already lower-case, so IGNORECASE only matters through case folding: the long s (U+017F) folds to
    // "s", and Python's regex then matches "'\u017F" as the contraction "'s". No other character folds to t, r, e, v,
    // m, l or d.
    private static bool MatchesContraction(ReadOnlySpan<char> text, string contraction)
    {
        if (text.Length < contraction.Length)
        {
            return false;
        }

        for (int i = 0; i < contraction.Length; i++)
        {
            if (text[i] != contraction[i] && !(contraction[i] == 's' && text[i] == LongS))
            {
                return false;
            }
        }

        return true;
    }

    private static CharClass Classify(Rune rune)
    {
        if (Rune.IsWhiteSpace(rune) || rune.Value == CombiningYpogegrammeni)
        {
            return CharClass.Unmatched;
        }

        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
            _ => CharClass.Other,
        };
    }

    private enum CharClass
    {
        Unmatched,
        Letter,
        Number,
        Other,
    }
}
