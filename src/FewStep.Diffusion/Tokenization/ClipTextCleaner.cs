using System.Globalization;
using System.Text;

namespace FewStep.Diffusion.Tokenization;

/// <summary>
/// The text clean-up the reference runs before CLIP's pre-tokenizer: transformers' slow <c>CLIPTokenizer</c> without
/// the optional <c>ftfy</c> package goes through <c>BasicTokenizer(strip_accents=False, do_split_on_punc=False)</c>.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers has no equivalent (its LowerCaseNormalizer alone missed some reference prompts), so the
/// rules are written out here, in the reference's order: drop NUL, U+FFFD and every "C*" category character except
/// tab/newline/CR; turn those and "Zs" into spaces; put spaces around CJK ideographs; NFC; split on whitespace;
/// lower-case each word the way Python's <c>str.lower</c> does; join with single spaces.
/// </remarks>
internal static class ClipTextCleaner
{
    private const int CapitalSigma = 0x03A3;
    private const int SmallSigma = 0x03C3;
    private const int FinalSigma = 0x03C2;
    private const int CapitalIWithDotAbove = 0x0130;

    // Python's full lower-case mapping of U+0130 (SpecialCasing.txt); .NET's invariant casing leaves it unchanged.
    private const string LowerIWithDotAbove = "i\u0307";

    public static string Clean(string text)
    {
        ArgumentNullException.ThrowIfNull(text);

        var builder = new StringBuilder(text.Length);
        foreach (Rune rune in text.EnumerateRunes())
        {
            int value = rune.Value;
            UnicodeCategory category = Rune.GetUnicodeCategory(rune);

            // EnumerateRunes turns lone surrogates into U+FFFD, which is dropped just as Python drops category Cs.
            if (value == 0 || value == 0xFFFD || IsControl(value, category))
            {
                continue;
            }

            if (value is ' ' or '\t' or '\n' or '\r' || category == UnicodeCategory.SpaceSeparator)
            {
                builder.Append(' ');
            }
            else if (IsCjkIdeograph(value))
            {
                builder.Append(' ').Append(rune.ToString()).Append(' ');
            }
            else
            {
                builder.Append(rune.ToString());
            }
        }

        // NFC through ICU (the reference's unicodedata.normalize): composition is stable across Unicode versions
        // for the characters that survive the unassigned-code-point filter above.
        string normalized = builder.ToString().Normalize(NormalizationForm.FormC);

        // Only space, U+2028 and U+2029 can be left as whitespace here; str.split() splits on all three.
        string[] words = normalized.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return ToLowerLikePython(string.Join(' ', words));
    }

    /// <summary>Python's <c>str.lower()</c>: simple lower-case mappings plus U+0130 and the final-sigma rule.</summary>
    internal static string ToLowerLikePython(string text)
    {
        var builder = new StringBuilder(text.Length);
        int index = 0;
        foreach (Rune rune in text.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case CapitalIWithDotAbove:
                    builder.Append(LowerIWithDotAbove);
                    break;
                case CapitalSigma:
                    builder.Append((char)(IsFinalSigma(text, index) ? FinalSigma : SmallSigma));
                    break;
                default:
                    builder.Append(Rune.ToLowerInvariant(rune).ToString());
                    break;
            }

            index += rune.Utf16SequenceLength;
        }

        return builder.ToString();
    }

    private static bool IsControl(int value, UnicodeCategory category)
    {
        if (value is '\t' or '\n' or '\r')
        {
            return false;
        }

        // Unassigned is judged by the reference's Unicode 14 database: .NET's newer one assigns ~10,000 of those code
        // points (every category difference between the two is such a new assignment), which Python drops.
        return category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
            || UnassignedCodePoints.Contains(value);
    }

    // BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks and their extensions and compatibility forms.
    private static bool IsCjkIdeograph(int value) =>
        value is (>= 0x4E00 and <= 0x9FFF)
            or (>= 0x3400 and <= 0x4DBF)
            or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F)
            or (>= 0x2B820 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF)
            or (>= 0x2F800 and <= 0x2FA1F);

    // CPython's handle_capital_sigma: a cased letter before (skipping case-ignorables) and none after.
    private static bool IsFinalSigma(string text, int sigmaIndex)
    {
        int i = sigmaIndex;
        bool casedBefore = false;
        while (i > 0)
        {
            Rune.DecodeLastFromUtf16(text.AsSpan(0, i), out Rune previous, out int length);
            i -= length;
            if (!IsCaseIgnorable(previous))
            {
                casedBefore = IsCased(previous);
                break;
            }
        }

        if (!casedBefore)
        {
            return false;
        }

        i = sigmaIndex + 1;
        while (i < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out Rune next, out int length);
            i += length;
            if (!IsCaseIgnorable(next))
            {
                return !IsCased(next);
            }
        }

        return true;
    }

    // Unicode "Cased": Lu, Ll, Lt and Other_Lowercase/Other_Uppercase. Most of the latter have case mappings; the rest
    // are listed (the modifier letters among them are case-ignorable, so they are skipped before this is asked).
    private static bool IsCased(Rune rune)
    {
        UnicodeCategory category = Rune.GetUnicodeCategory(rune);
        return category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            || rune.Value is 0x00AA or 0x00BA or (>= 0x1F130 and <= 0x1F149) or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189)
            || Rune.ToLowerInvariant(rune) != rune
            || Rune.ToUpperInvariant(rune) != rune;
    }

    // Unicode "Case_Ignorable": Mn, Me, Cf, Lm, Sk, plus the Word_Break MidLetter, MidNumLet and Single_Quote characters.
    private static bool IsCaseIgnorable(Rune rune)
    {
        if (rune.Value is '\'' or '.' or ':' or 0x00B7 or 0x0387 or 0x055F or 0x05F4 or 0x2018 or 0x2019 or 0x2024
            or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A)
        {
            return true;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
    }
}
