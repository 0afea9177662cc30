using System.Globalization;
using System.Text;

namespace FewStep.Diffusion.Tokenization;

/// <summary>
/// Python's <c>str.lower()</c> and <c>str.strip()</c>, which PixArtAlphaPipeline applies to every prompt before the
/// T5 tokenizer (<c>_text_preprocessing</c> with <c>clean_caption=False</c>: <c>text.lower().strip()</c>).
/// </summary>
/// <remarks>
/// .NET's <see cref="string.ToLowerInvariant()"/> maps one UTF-16 unit to one: it lacks the two context or length
/// changing rules of Python's full Unicode lower-casing that matter here (U+0130 İ becomes "i̇", and a capital sigma at
/// the end of a word becomes the final sigma ς). Python's whitespace also includes U+001C..U+001F, which .NET's
/// <see cref="char.IsWhiteSpace(char)"/> does not.
/// </remarks>
public static class PythonText
{
    /// <summary>PixArt's prompt pre-processing without caption cleaning: <c>text.lower().strip()</c>.</summary>
    public static string PixArtPreprocess(string text) => Strip(Lower(text));

    public static string Lower(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        var index = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case 0x0130:
                    builder.Append("i\u0307");
                    break;
                case 0x03A3:
                    builder.Append(IsFinalSigma(text, index) ? 'ς' : 'σ');
                    break;
                default:
                    builder.Append(Rune.ToLowerInvariant(rune).ToString());
                    break;
            }

            index += rune.Utf16SequenceLength;
        }

        return builder.ToString();
    }

    public static string Strip(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var start = 0;
        var end = text.Length;
        while (start < end && IsSpace(text[start]))
        {
            start++;
        }

        while (end > start && IsSpace(text[end - 1]))
        {
            end--;
        }

        return text[start..end];
    }

    /// <summary>Python's <c>str.isspace</c> for one character.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    // Python (Unicode SpecialCasing Final_Sigma): preceded by a cased letter (skipping case-ignorable characters)
    // and not followed by one.
    private static bool IsFinalSigma(string text, int index)
    {
        return CasedBefore(text, index) && !CasedAfter(text, index + 1);
    }

    private static bool CasedBefore(string text, int index)
    {
        for (var i = index - 1; i >= 0; i--)
        {
            if (IsCaseIgnorable(text[i]))
            {
                continue;
            }

            return IsCased(text[i]);
        }

        return false;
    }

    private static bool CasedAfter(string text, int index)
    {
        for (var i = index; i < text.Length; i++)
        {
            if (IsCaseIgnorable(text[i]))
            {
                continue;
            }

            return IsCased(text[i]);
        }

        return false;
    }

    private static bool IsCased(char c) => char.IsUpper(c) || char.IsLower(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(char c) => c is '\'' or '.' or ':' or '^' or '`' or '\u00b7' or '\u2019' ||
        CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
}
