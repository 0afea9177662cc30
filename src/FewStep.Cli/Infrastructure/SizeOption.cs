using System.Globalization;

namespace FewStep.Cli.Infrastructure;

/// <summary>Parses <c>--size WxH</c>.</summary>
public static class SizeOption
{
    public static bool TryParse(string? text, out int width, out int height)
    {
        width = height = 0;
        var parts = text?.Split('x', 'X');
        return parts is { Length: 2 }
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out width)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out height)
            && width > 0 && height > 0;
    }
}
