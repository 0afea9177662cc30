using System.Text;

namespace FewStep.Cli.Generation;

/// <summary>File names for generated images: a short slug of the prompt and the seed, never overwriting.</summary>
public static class OutputNames
{
    public static string Slug(string prompt, int maxLength = 40)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var slug = new StringBuilder();
        foreach (var c in prompt.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                slug.Append(c);
            }
            else if (slug.Length > 0 && slug[^1] != '-')
            {
                slug.Append('-');
            }

            if (slug.Length >= maxLength)
            {
                break;
            }
        }

        var text = slug.ToString().Trim('-');
        return text.Length == 0 ? "image" : text;
    }

    /// <summary><c>DIR/STEM.png</c>, or <c>DIR/STEM-2.png</c>... when taken.</summary>
    public static string Unique(string directory, string stem)
    {
        var path = Path.Combine(directory, stem + ".png");
        for (var n = 2; File.Exists(path); n++)
        {
            path = Path.Combine(directory, $"{stem}-{n}.png");
        }

        return path;
    }
}
