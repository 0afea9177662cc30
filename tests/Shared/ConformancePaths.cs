namespace FewStep.Tests;

/// <summary>
/// Where the conformance corpus lies: <c>../shared/conformance</c> beside the repository root (the folder with
/// FewStepFunctions.sln), as on developer machines and in CI.
/// </summary>
internal static class ConformancePaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    public static string Root => s_root.Value;

    public static string Models => Path.Combine(Root, "models");

    public static string Schedulers => Path.Combine(Root, "schedulers");

    public static string Cases => Path.Combine(Root, "cases");

    public static string TokenizersJson => Path.Combine(Root, "tokenizers.json");

    /// <summary>PixArt-LCM cases, kept apart from <see cref="Cases"/>.</summary>
    public static string PixArtCases => Path.Combine(Root, "cases-pixart");

    /// <summary>T5 tokenizer vectors for tiny-pixart-lcm/tokenizer.</summary>
    public static string T5TokenizersJson => Path.Combine(Root, "tokenizers_t5.json");

    /// <summary>Vectors of torch.randn with a seeded CPU generator, both normal kernels.</summary>
    public static string TorchRandnJson => Path.Combine(Root, "torch_randn.json");

    /// <summary>Pipeline cases in which diffusers drew all noise from seeded CPU generators.</summary>
    public static string SeededCases => Path.Combine(Root, "cases-seeded");

    public static string Model(string name) => Path.Combine(Models, name);

    /// <summary>
    /// A writable copy of conformance model <paramref name="name"/> in <paramref name="root"/>, as folder
    /// <paramref name="copyName"/> (default: the same name), to break or extend it.
    /// </summary>
    public static string CopyModel(string name, string root, string? copyName = null)
    {
        var source = Model(name);
        var target = Path.Combine(root, copyName ?? name);
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
            File.SetAttributes(destination, FileAttributes.Normal);
        }

        return target;
    }

    /// <summary>LoRA files (<c>.safetensors</c>) and their answer key <c>index.json</c>.</summary>
    public static string Loras => Path.Combine(Root, "loras");

    public static string Lora(string name) => Path.Combine(Loras, name + ".safetensors");

    /// <summary>Pipeline cases with LoRAs merged into the tiny models.</summary>
    public static string LoraCases => Path.Combine(Root, "cases-lora");

    private static string FindRoot()
    {
        var conformance = Path.GetFullPath(Path.Combine(RepositoryPaths.Root, "..", "shared", "conformance"));
        return Directory.Exists(conformance)
            ? conformance
            : throw new DirectoryNotFoundException($"The conformance corpus is missing: expected '{conformance}'.");
    }
}
