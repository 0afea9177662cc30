using System.Text.RegularExpressions;

namespace FewStep.Onnx.Lora;

/// <summary>
/// Keys that start with a component (<c>unet.</c>, <c>text_encoder.</c>, <c>text_encoder_2.</c>) and a dotted diffusers
/// module path: PEFT (<c>.lora_A.weight</c> / <c>.lora_B.weight</c>), diffusers (<c>.lora.down.weight</c>,
/// <c>.lora_linear_layer.down.weight</c> and <c>.up</c>) and diffusers' legacy attention processors
/// (<c>attn1.processor.to_q_lora.down.weight</c>). One file may mix them: diffusers' own conversion writes attention
/// layers in the diffusers form and keeps PEFT's keys for the rest.
/// </summary>
internal static partial class DiffusersKeys
{
    private static readonly (string Prefix, string Component)[] s_prefixes =
    [
        ("unet.", LoraComponents.Unet),
        ("text_encoder.", LoraComponents.TextEncoder),
        ("text_encoder_2.", LoraComponents.TextEncoder2),
    ];

    private static readonly (string Suffix, LoraFormat Format, LoraKeyRole Role)[] s_suffixes =
    [
        (".lora_A.weight", LoraFormat.Peft, LoraKeyRole.Down),
        (".lora_B.weight", LoraFormat.Peft, LoraKeyRole.Up),
        (".lora.down.weight", LoraFormat.Diffusers, LoraKeyRole.Down),
        (".lora.up.weight", LoraFormat.Diffusers, LoraKeyRole.Up),
        (".lora_linear_layer.down.weight", LoraFormat.Diffusers, LoraKeyRole.Down),
        (".lora_linear_layer.up.weight", LoraFormat.Diffusers, LoraKeyRole.Up),

        // Network alphas as diffusers keeps them for converted kohya files (unet.<path>.alpha): honoured as kohya's.
        (".alpha", LoraFormat.Diffusers, LoraKeyRole.Alpha),
    ];

    /// <summary>The legacy processors' projections: the UNet's Attention names and CLIP's self-attention names.</summary>
    private static readonly Dictionary<string, (string Unet, string? TextEncoder)> s_legacyProjections = new(StringComparer.Ordinal)
    {
        ["to_q"] = ("to_q", "q_proj"),
        ["to_k"] = ("to_k", "k_proj"),
        ["to_v"] = ("to_v", "v_proj"),
        ["to_out"] = ("to_out.0", "out_proj"),
        ["add_k_proj"] = ("add_k_proj", null),
        ["add_v_proj"] = ("add_v_proj", null),
    };

    /// <summary>Whether <paramref name="key"/> starts with a component prefix (it is then one of these formats or none).</summary>
    public static bool HasPrefix(string key) => s_prefixes.Any(p => key.StartsWith(p.Prefix, StringComparison.Ordinal));

    /// <summary>Parses a key with a component prefix; null where its suffix is none of these formats'.</summary>
    public static ParsedLoraKey? TryParse(string key, ILoraTargets targets, string path)
    {
        var (prefix, component) = s_prefixes.First(p => key.StartsWith(p.Prefix, StringComparison.Ordinal));

        // Legacy processor keys sit under the attention module's processor (attn1.processor.to_q_lora...): the
        // processor is no module of its own, so dropping it leaves the attention module's path.
        var body = key[prefix.Length..].Replace(".processor.", ".", StringComparison.Ordinal);
        var parsed = Modern(body) ?? Legacy(body, component);
        if (parsed is not { } p || p.Module.Length == 0)
        {
            return null;
        }

        if (component == LoraComponents.TextEncoder2 && !targets.IsSdxl)
        {
            throw LoraErrors.Key(path, key, "shows this LoRA is for SDXL (text_encoder_2 is SDXL's second text encoder) but the model is not");
        }

        LoraKeyComponents.CheckPresent(targets, component, key, path);
        return new ParsedLoraKey(key, p.Format, component, p.Module, Underscored: false, p.Role);
    }

    private static (string Module, LoraFormat Format, LoraKeyRole Role)? Modern(string body)
    {
        foreach (var (suffix, format, role) in s_suffixes)
        {
            if (body.EndsWith(suffix, StringComparison.Ordinal))
            {
                return (body[..^suffix.Length], format, role);
            }
        }

        return null;
    }

    private static (string Module, LoraFormat Format, LoraKeyRole Role)? Legacy(string body, string component)
    {
        if (LegacyProcessor().Match(body) is not { Success: true } match
            || !s_legacyProjections.TryGetValue(match.Groups["proj"].Value, out var names))
        {
            return null;
        }

        var projection = component == LoraComponents.Unet ? names.Unet : names.TextEncoder;
        if (projection is null)
        {
            return null;
        }

        var role = match.Groups["role"].Value == "down" ? LoraKeyRole.Down : LoraKeyRole.Up;
        return ($"{match.Groups["module"].Value}.{projection}", LoraFormat.Diffusers, role);
    }

    [GeneratedRegex(@"^(?<module>.+)\.(?<proj>to_q|to_k|to_v|to_out|add_k_proj|add_v_proj)_lora\.(?<role>down|up)\.weight$",
        RegexOptions.CultureInvariant)]
    private static partial Regex LegacyProcessor();
}
