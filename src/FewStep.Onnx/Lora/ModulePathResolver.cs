namespace FewStep.Onnx.Lora;

/// <summary>
/// Turns a parsed key's module into one of the model's layer paths, or says why it cannot (with the nearest layer
/// path where one is close). kohya names are looked up among the model's paths written with <c>_</c>: the
/// <c>_</c> cannot be turned back blindly, as <c>down_blocks</c>, <c>to_q</c> and <c>time_emb_proj</c> hold their own.
/// </summary>
internal sealed class ModulePathResolver(ILoraTargets targets, string path)
{
    private readonly Dictionary<string, UnderscoredPaths> _underscored = new(StringComparer.Ordinal);

    public string Resolve(ParsedLoraKey key)
    {
        var paths = targets.ModulePaths(key.Component);
        if (!key.Underscored)
        {
            return paths.Contains(key.Module)
                ? key.Module
                : throw NoLayer(key, $"'{key.Module}'", Nearest(key.Module, paths));
        }

        var lookup = Underscored(key.Component, paths);
        if (lookup.Ambiguous.TryGetValue(key.Module, out var candidates))
        {
            throw LoraErrors.Key(path, key.Key,
                $"is ambiguous: in the {key.Component}, {string.Join(" and ", candidates.Select(c => $"'{c}'"))} are all written '{key.Module}'");
        }

        if (lookup.Paths.TryGetValue(key.Module, out var resolved))
        {
            return resolved;
        }

        var nearest = Nearest(key.Module, lookup.Paths.Keys);
        throw NoLayer(key, $"'{key.Module}'", nearest is null ? null : lookup.Paths[nearest]);
    }

    private UnderscoredPaths Underscored(string component, IReadOnlySet<string> paths)
    {
        if (!_underscored.TryGetValue(component, out var lookup))
        {
            // Two paths that read the same with '_' are only an error for a key that names them: the model may well
            // have such a pair among layers the LoRA never touches.
            lookup = new UnderscoredPaths(new(StringComparer.Ordinal), new(StringComparer.Ordinal));
            foreach (var modulePath in paths.Order(StringComparer.Ordinal))
            {
                var underscored = modulePath.Replace('.', '_');
                if (lookup.Ambiguous.TryGetValue(underscored, out var clash))
                {
                    clash.Add(modulePath);
                }
                else if (lookup.Paths.Remove(underscored, out var first))
                {
                    lookup.Ambiguous[underscored] = [first, modulePath];
                }
                else
                {
                    lookup.Paths[underscored] = modulePath;
                }
            }

            _underscored[component] = lookup;
        }

        return lookup;
    }

    private Diffusion.DiffusionException NoLayer(ParsedLoraKey key, string module, string? nearest)
    {
        var hint = nearest is null ? "" : $" (nearest: '{nearest}')";
        var mapped = key.SgmMapped
            ? $" (its SGM block name read as diffusers' {module})"
            : "";
        return LoraErrors.Key(path, key.Key,
            $"names {module}{mapped}, which is no layer of the model's {key.Component} with a weight a LoRA can change{hint}");
    }

    /// <summary>The candidate closest by edit distance, if it is close enough to be a likely typo or version difference.</summary>
    private static string? Nearest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = Math.Max(3, name.Length / 5) + 1;
        foreach (var candidate in candidates)
        {
            if (Math.Abs(candidate.Length - name.Length) >= bestDistance)
            {
                continue;
            }

            var distance = EditDistance(name, candidate);
            if (distance < bestDistance || (distance == bestDistance && best is not null && string.CompareOrdinal(candidate, best) < 0))
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return best;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private sealed record UnderscoredPaths(Dictionary<string, string> Paths, Dictionary<string, List<string>> Ambiguous);
}
