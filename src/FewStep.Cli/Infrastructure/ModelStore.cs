using FewStep.Diffusion.Catalog;

namespace FewStep.Cli.Infrastructure;

/// <summary>
/// The model root (<c>--models-dir</c>, else <c>FEWSTEP_MODELS</c>, else <c>~/.cache/fewstep/models</c>) and the
/// catalog: the built-in one extended by <c>catalog.json</c> in the root.
/// </summary>
public sealed class ModelStore
{
    public const string EnvironmentVariable = "FEWSTEP_MODELS";
    public const string CatalogFileName = "catalog.json";

    private ModelStore(string root, ModelCatalog catalog, string? userCatalog)
    {
        Root = root;
        Catalog = catalog;
        UserCatalogPath = userCatalog;
    }

    public string Root { get; }

    public ModelCatalog Catalog { get; }

    /// <summary>The user catalog file that extends the built-in one, when there is one.</summary>
    public string? UserCatalogPath { get; }

    public static ModelStore Open(string? modelsDir, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var root = !string.IsNullOrWhiteSpace(modelsDir) ? modelsDir
            : environment(EnvironmentVariable) is { Length: > 0 } fromEnv ? fromEnv
            : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".cache", "fewstep", "models");
        root = Path.GetFullPath(root);
        var userCatalog = Path.Combine(root, CatalogFileName);
        return File.Exists(userCatalog)
            ? new ModelStore(root, ModelCatalog.BuiltIn.Extend(ModelCatalog.Load(userCatalog)), userCatalog)
            : new ModelStore(root, ModelCatalog.BuiltIn, null);
    }

    /// <summary>Whether a folder holds a model (its <c>model_index.json</c>).</summary>
    public static bool IsModelFolder(string folder) => File.Exists(Path.Combine(folder, "model_index.json"));

    /// <summary>
    /// A <c>--model</c> value: an existing folder (or anything that looks like a path) is a path; otherwise a
    /// catalog name. Unknown names are an error that says where to look.
    /// </summary>
    public ResolvedModel Resolve(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Directory.Exists(model) || LooksLikePath(model))
        {
            var folder = Path.GetFullPath(model);
            if (!IsModelFolder(folder))
            {
                throw new CliException($"'{folder}' is not a model folder (no model_index.json).");
            }

            return new ResolvedModel(Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)), folder, null);
        }

        if (Catalog.TryGet(model, out var entry))
        {
            return new ResolvedModel(entry.Name, entry.ResolveFolder(Root), entry);
        }

        throw new CliException($"Unknown model '{model}': not a folder and not in the catalog (see 'fewstep models list').");
    }

    /// <summary>Where LoRA files are named from: <c>&lt;root&gt;/loras</c>.</summary>
    public string LoraFolder => Path.Combine(Root, LoraCatalogEntry.FolderName);

    /// <summary>
    /// A <c>--lora</c> value without its scale: an existing file (or anything that looks like a path) is a path;
    /// otherwise a catalog LoRA or a file <c>loras/&lt;name&gt;.safetensors</c>. The path may not exist yet for a
    /// catalog LoRA (it is pulled).
    /// </summary>
    public ResolvedLora ResolveLora(string lora)
    {
        ArgumentNullException.ThrowIfNull(lora);
        if (File.Exists(lora) || LooksLikePath(lora) || lora.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            var path = Path.GetFullPath(lora);
            return File.Exists(path) ? new ResolvedLora(Path.GetFileNameWithoutExtension(path), path, null)
                : throw new CliException($"LoRA file '{path}' does not exist.");
        }

        if (Catalog.TryGetLora(lora, out var entry))
        {
            return new ResolvedLora(entry.Name, entry.ResolvePath(Root), entry);
        }

        var file = Path.Combine(LoraFolder, lora + ".safetensors");
        if (LoraNames.IsValid(lora) && File.Exists(file))
        {
            return new ResolvedLora(lora, file, null);
        }

        throw new CliException($"Unknown LoRA '{lora}': not a file, not in the catalog and not in {LoraFolder} (see 'fewstep models list').");
    }

    /// <summary>Model folders under the root (those with a <c>model_index.json</c>).</summary>
    public IReadOnlyList<string> LocalFolders() =>
        Directory.Exists(Root)
            ? Directory.EnumerateDirectories(Root).Where(IsModelFolder).Order(StringComparer.Ordinal).ToArray()
            : [];

    private static bool LooksLikePath(string model) =>
        model.StartsWith('.') || model.StartsWith('~') || Path.IsPathRooted(model) || model.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
