using System.Text;

namespace FewStep.Diffusion.Tokenization;

/// <summary>
/// Unicode normalization form C over the tables in <see cref="NfcData"/>.
/// </summary>
/// <remarks>
/// Ours because the build runs with InvariantGlobalization, where <c>string.Normalize(NormalizationForm.FormC)</c>
/// returns non-ASCII text unchanged (e.g. "e\u0301" stays two characters), while the reference tokenizer composes it
/// to "é" before BPE. Own tables also pin the Unicode version to the reference's Python rather than the host's ICU.
/// </remarks>
internal static class UnicodeNfc
{
    // Hangul syllables compose and decompose arithmetically (Unicode chapter 3.12), so they are not in the tables.
    private const int HangulSBase = 0xAC00;
    private const int HangulLBase = 0x1100;
    private const int HangulVBase = 0x1161;
    private const int HangulTBase = 0x11A7;
    private const int HangulLCount = 19;
    private const int HangulVCount = 21;
    private const int HangulTCount = 28;
    private const int HangulNCount = HangulVCount * HangulTCount;
    private const int HangulSCount = HangulLCount * HangulNCount;

    // Below U+0300 every character is a starter that no earlier character composes with, so such text is already NFC.
    private const int FirstNonTrivialCodePoint = 0x300;

    private static readonly Dictionary<long, int> Compositions = BuildCompositions();

    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IsTriviallyNormalized(text))
        {
            return text;
        }

        var codePoints = new List<int>(text.Length);
        foreach (Rune rune in text.EnumerateRunes())
        {
            Decompose(rune.Value, codePoints);
        }

        SortCombiningMarks(codePoints);
        Compose(codePoints);

        var builder = new StringBuilder(text.Length);
        foreach (int codePoint in codePoints)
        {
            builder.Append(new Rune(codePoint).ToString());
        }

        return builder.ToString();
    }

    internal static int CombiningClass(int codePoint)
    {
        int index = NfcData.CombiningCodePoints.BinarySearch(codePoint);
        return index >= 0 ? NfcData.CombiningClasses[index] : 0;
    }

    private static bool IsTriviallyNormalized(string text)
    {
        foreach (char c in text)
        {
            if (c >= FirstNonTrivialCodePoint)
            {
                return false;
            }
        }

        return true;
    }

    private static void Decompose(int codePoint, List<int> output)
    {
        int sIndex = codePoint - HangulSBase;
        if (sIndex is >= 0 and < HangulSCount)
        {
            output.Add(HangulLBase + (sIndex / HangulNCount));
            output.Add(HangulVBase + (sIndex % HangulNCount / HangulTCount));
            int t = sIndex % HangulTCount;
            if (t != 0)
            {
                output.Add(HangulTBase + t);
            }

            return;
        }

        int index = NfcData.DecompositionCodePoints.BinarySearch(codePoint);
        if (index < 0)
        {
            output.Add(codePoint);
            return;
        }

        Decompose(NfcData.DecompositionFirst[index], output);
        int second = NfcData.DecompositionSecond[index];
        if (second >= 0)
        {
            Decompose(second, output);
        }
    }

    // Canonical ordering: a stable sort of each run of non-starters by combining class (runs are short).
    private static void SortCombiningMarks(List<int> codePoints)
    {
        for (int i = 1; i < codePoints.Count; i++)
        {
            int current = codePoints[i];
            int currentClass = CombiningClass(current);
            if (currentClass == 0)
            {
                continue;
            }

            int j = i - 1;
            while (j >= 0)
            {
                int previousClass = CombiningClass(codePoints[j]);
                if (previousClass == 0 || previousClass <= currentClass)
                {
                    break;
                }

                codePoints[j + 1] = codePoints[j];
                j--;
            }

            codePoints[j + 1] = current;
        }
    }

    // Canonical composition: each character joins the last starter unless a character of equal or higher class
    // (or a starter) sits between them.
    private static void Compose(List<int> codePoints)
    {
        if (codePoints.Count == 0)
        {
            return;
        }

        int starterIndex = CombiningClass(codePoints[0]) == 0 ? 0 : -1;
        int lastClass = starterIndex == 0 ? 0 : 256;
        int write = 1;
        for (int read = 1; read < codePoints.Count; read++)
        {
            int current = codePoints[read];
            int currentClass = CombiningClass(current);
            // lastClass == 0 means the starter itself was the last character kept, so nothing sits between them.
            bool blocked = starterIndex < 0 || (lastClass != 0 && lastClass >= currentClass);
            if (!blocked && TryCompose(codePoints[starterIndex], current, out int composite))
            {
                codePoints[starterIndex] = composite;
                continue;
            }

            if (currentClass == 0)
            {
                starterIndex = write;
            }

            lastClass = currentClass;
            codePoints[write++] = current;
        }

        codePoints.RemoveRange(write, codePoints.Count - write);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        int lIndex = first - HangulLBase;
        if (lIndex is >= 0 and < HangulLCount)
        {
            int vIndex = second - HangulVBase;
            if (vIndex is >= 0 and < HangulVCount)
            {
                composite = HangulSBase + (((lIndex * HangulVCount) + vIndex) * HangulTCount);
                return true;
            }
        }

        int sIndex = first - HangulSBase;
        if (sIndex is >= 0 and < HangulSCount && sIndex % HangulTCount == 0)
        {
            int tIndex = second - HangulTBase;
            if (tIndex is > 0 and < HangulTCount)
            {
                composite = first + tIndex;
                return true;
            }
        }

        return Compositions.TryGetValue(PairKey(first, second), out composite);
    }

    private static long PairKey(int first, int second) => ((long)first << 21) | (uint)second;

    private static Dictionary<long, int> BuildCompositions()
    {
        var map = new Dictionary<long, int>(NfcData.CompositionResult.Length);
        for (int i = 0; i < NfcData.CompositionResult.Length; i++)
        {
            map.Add(PairKey(NfcData.CompositionFirst[i], NfcData.CompositionSecond[i]), NfcData.CompositionResult[i]);
        }

        return map;
    }
}
