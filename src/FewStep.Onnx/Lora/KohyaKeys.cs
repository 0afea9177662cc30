namespace FewStep.Onnx.Lora;

/// <summary>
/// kohya / sd-scripts keys: <c>lora_unet_&lt;path&gt;</c>, <c>lora_te_&lt;path&gt;</c> (SD 1.x/2.x text encoder),
/// <c>lora_te1_</c> / <c>lora_te2_</c> (SDXL's two text encoders), <c>&lt;path&gt;</c> with every <c>.</c> written
/// <c>_</c>, then <c>.lora_down.weight</c>, <c>.lora_up.weight</c> or <c>.alpha</c>. UNet paths may also use the
/// original SGM block names (<see cref="SgmBlockNames"/>), which only SDXL files do.
/// </summary>
internal static class KohyaKeys
{
    private static readonly (string Prefix, string Component)[] s_prefixes =
    [
        ("lora_unet_", LoraComponents.Unet),
        ("lora_te1_", LoraComponents.TextEncoder),
        ("lora_te2_", LoraComponents.TextEncoder2),
        ("lora_te_", LoraComponents.TextEncoder),
    ];

    private static readonly (string Suffix, LoraKeyRole Role)[] s_suffixes =
    [
        (".lora_down.weight", LoraKeyRole.Down),
        (".lora_up.weight", LoraKeyRole.Up),
        (".alpha", LoraKeyRole.Alpha),
    ];

    /// <summary>Whether <paramref name="key"/> starts with a kohya prefix (it is then kohya's or nobody's).</summary>
    public static bool HasPrefix(string key) => s_prefixes.Any(p => key.StartsWith(p.Prefix, StringComparison.Ordinal));

    /// <summary>Parses a key with a kohya prefix; null where its suffix is not kohya's.</summary>
    public static ParsedLoraKey? TryParse(string key, ILoraTargets targets, string path)
    {
        var (prefix, component) = s_prefixes.First(p => key.StartsWith(p.Prefix, StringComparison.Ordinal));
        var match = s_suffixes.FirstOrDefault(s => key.EndsWith(s.Suffix, StringComparison.Ordinal));
        if (match.Suffix is null || key.Length <= prefix.Length + match.Suffix.Length)
        {
            return null;
        }

        var name = key[prefix.Length..^match.Suffix.Length];
        if (name.Contains('.', StringComparison.Ordinal))
        {
            return null;
        }

        switch (prefix)
        {
            case "lora_te1_" or "lora_te2_" when !targets.IsSdxl:
                throw SdxlOnly(path, key, "its lora_te1_ / lora_te2_ prefix names SDXL's two text encoders");
            case "lora_te_" when targets.IsSdxl:
                throw LoraErrors.Key(path, key,
                    "is for SD 1.x/2.x (its lora_te_ prefix names a single text encoder; SDXL files use lora_te1_ / lora_te2_) but the model is SDXL");
            default:
                break;
        }

        LoraKeyComponents.CheckPresent(targets, component, key, path);
        var sgm = component == LoraComponents.Unet && SgmBlockNames.IsSgm(name);
        if (sgm)
        {
            if (!targets.IsSdxl)
            {
                throw SdxlOnly(path, key, "it uses SGM block names (input_blocks / middle_block / output_blocks), which only SDXL LoRAs use");
            }

            name = SgmBlockNames.TryMap(name, targets.LayersPerBlock, out var why)
                ?? throw LoraErrors.Key(path, key, $"has an SGM block name with no diffusers layer: {why}");
        }

        return new ParsedLoraKey(key, LoraFormat.Kohya, component, name, Underscored: true, match.Role, SgmMapped: sgm);
    }

    private static Diffusion.DiffusionException SdxlOnly(string path, string key, string why) =>
        LoraErrors.Key(path, key, $"shows this LoRA is for SDXL ({why}) but the model is not");
}
