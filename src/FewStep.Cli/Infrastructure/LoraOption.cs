using System.Globalization;

namespace FewStep.Cli.Infrastructure;

/// <summary><c>--lora FILE|NAME[:SCALE]</c>. The scale is what follows the last ':' when it is a number, so <c>C:\x.safetensors</c> keeps its drive.</summary>
internal static class LoraOption
{
    public const float MaxScale = 8f;

    public static bool TryParse(string value, out string lora, out float scale)
    {
        lora = value;
        scale = 1f;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var colon = value.LastIndexOf(':');
        if (colon > 0 && float.TryParse(value.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
        {
            if (!float.IsFinite(parsed) || Math.Abs(parsed) > MaxScale)
            {
                return false;
            }

            (lora, scale) = (value[..colon], parsed);
        }

        return lora.Length > 0;
    }
}
