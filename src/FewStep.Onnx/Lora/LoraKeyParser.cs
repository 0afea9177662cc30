namespace FewStep.Onnx.Lora;

/// <summary>
/// Takes one key of a LoRA file apart (<see cref="KohyaKeys"/>, <see cref="DiffusersKeys"/>), after refusing the
/// weights of other adapter algorithms by name: they share kohya's prefixes but are not a down/up pair, and merging
/// them as one would change the model wrongly without a word.
/// </summary>
internal static class LoraKeyParser
{
    private static readonly (string Marker, string Algorithm)[] s_otherAlgorithms =
    [
        (".dora_scale", "DoRA (weight-decomposed LoRA, dora_scale)"),
        (".lora_magnitude_vector", "DoRA (weight-decomposed LoRA, lora_magnitude_vector)"),
        (".hada_", "LyCORIS LoHa (hada_ weights)"),
        (".lokr_", "LyCORIS LoKr (lokr_ weights)"),
        (".lora_mid.", "LyCORIS LoCon with CP decomposition (lora_mid)"),
        (".oft_", "OFT (oft_ weights)"),
        (".lora_embedding_", "PEFT LoRA on an embedding layer (lora_embedding_A / _B)"),
    ];

    /// <summary>Markers that only end a key: as a substring they could be part of a module's name.</summary>
    private static readonly (string Suffix, string Algorithm)[] s_otherAlgorithmSuffixes =
    [
        (".diff", "LyCORIS full fine-tune difference (diff)"),
        (".diff_b", "LyCORIS full fine-tune difference (diff_b)"),
        (".w_norm", "LyCORIS norm layers (w_norm)"),
        (".b_norm", "LyCORIS norm layers (b_norm)"),
    ];

    public static ParsedLoraKey Parse(string key, ILoraTargets targets, string path)
    {
        foreach (var (marker, algorithm) in s_otherAlgorithms)
        {
            if (key.Contains(marker, StringComparison.Ordinal))
            {
                throw Unsupported(path, key, algorithm);
            }
        }

        foreach (var (suffix, algorithm) in s_otherAlgorithmSuffixes)
        {
            if (key.EndsWith(suffix, StringComparison.Ordinal))
            {
                throw Unsupported(path, key, algorithm);
            }
        }

        if (KohyaKeys.HasPrefix(key))
        {
            return KohyaKeys.TryParse(key, targets, path)
                ?? throw LoraErrors.Key(path, key,
                    "has a kohya prefix but not kohya's form <prefix><path with _>.lora_down.weight / .lora_up.weight / .alpha");
        }

        if (DiffusersKeys.HasPrefix(key))
        {
            return DiffusersKeys.TryParse(key, targets, path)
                ?? throw LoraErrors.Key(path, key,
                    "has a component prefix but ends in none of .lora_A.weight / .lora_B.weight (PEFT), .lora.down.weight / .lora.up.weight / "
                    + ".lora_linear_layer.down.weight / .up.weight (diffusers), .to_q_lora.down.weight etc. (legacy diffusers processors), .alpha");
        }

        if (key.StartsWith("base_model.model.", StringComparison.Ordinal))
        {
            throw LoraErrors.Key(path, key,
                "is a bare PEFT adapter key (base_model.model.) that does not say which component it changes; save the LoRA with diffusers "
                + "(keys prefixed unet. / text_encoder. / text_encoder_2.) or sd-scripts");
        }

        throw LoraErrors.Key(path, key,
            "is in no known LoRA format: keys start with lora_unet_ / lora_te_ / lora_te1_ / lora_te2_ (kohya) or unet. / text_encoder. / "
            + "text_encoder_2. (PEFT, diffusers)");
    }

    private static Diffusion.DiffusionException Unsupported(string path, string key, string algorithm) =>
        LoraErrors.Key(path, key, $"is a weight of {algorithm}, which is not supported: only plain LoRA (down and up matrices, optional alpha) is");
}
