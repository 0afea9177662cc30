using System.Reflection;
using System.Text.Json;

namespace FewStep.Diffusion.Catalog;

/// <summary>
/// Named models with their recommended settings: the built-in catalog (<c>catalog.json</c>, embedded) extended
/// or overridden, entry by entry, by a user's catalog file in the same format (<c>{"models": [ ... ], "loras": [ ... ]}</c>).
/// </summary>
public sealed class ModelCatalog
{
    private static readonly JsonSerializerOptions s_options = new()
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private readonly Dictionary<string, ModelCatalogEntry> _entries;
    private readonly Dictionary<string, LoraCatalogEntry> _loras;

    public ModelCatalog(IEnumerable<ModelCatalogEntry> entries, IEnumerable<LoraCatalogEntry>? loras = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        _entries = new Dictionary<string, ModelCatalogEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in entries)
        {
            _entries[entry.Name] = entry;
        }

        _loras = new Dictionary<string, LoraCatalogEntry>(StringComparer.Ordinal);
        foreach (var lora in loras ?? [])
        {
            _loras[lora.Name] = lora;
        }
    }

    public IReadOnlyCollection<ModelCatalogEntry> Entries => _entries.Values;

    /// <summary>Named LoRA files (the <c>"loras"</c> list of a catalog file).</summary>
    public IReadOnlyCollection<LoraCatalogEntry> Loras => _loras.Values;

    public bool TryGetLora(string name, out LoraCatalogEntry entry) => _loras.TryGetValue(name, out entry!);

    /// <summary>The catalog that ships with FewStep.</summary>
    public static ModelCatalog BuiltIn { get; } = LoadBuiltIn();

    public bool TryGet(string name, out ModelCatalogEntry entry) => _entries.TryGetValue(name, out entry!);

    /// <summary>Reads a catalog file; errors name the file and the entry.</summary>
    public static ModelCatalog Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new DiffusionException($"Model catalog '{path}' does not exist.");
        }

        using var stream = File.OpenRead(path);
        return Parse(stream, path);
    }

    /// <summary>This catalog with <paramref name="other"/>'s entries added, replacing those of the same name.</summary>
    public ModelCatalog Extend(ModelCatalog other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new ModelCatalog(
            _entries.Values.Where(e => !other._entries.ContainsKey(e.Name)).Concat(other._entries.Values),
            _loras.Values.Where(l => !other._loras.ContainsKey(l.Name)).Concat(other._loras.Values));
    }

    internal static ModelCatalog Parse(Stream stream, string source)
    {
        CatalogFile? file;
        try
        {
            file = JsonSerializer.Deserialize<CatalogFile>(stream, s_options);
        }
        catch (JsonException e)
        {
            throw new DiffusionException($"Model catalog '{source}' is not valid{(e.Path is null ? string.Empty : $" at {e.Path}")}: {e.Message}", e);
        }

        if (file?.Models is null)
        {
            throw new DiffusionException($"Model catalog '{source}' has no \"models\" list.");
        }

        var loras = file.Loras ?? [];
        var errors = file.Models.SelectMany(m => m.Validate()).Concat(loras.SelectMany(l => l.Validate())).ToArray();
        var duplicates = file.Models.GroupBy(m => m.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key)
            .Concat(loras.GroupBy(l => l.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => "lora " + g.Key)).ToArray();
        if (duplicates.Length > 0)
        {
            errors = [.. errors, $"names listed twice: {string.Join(", ", duplicates)}"];
        }

        if (errors.Length > 0)
        {
            throw new DiffusionException($"Model catalog '{source}': {string.Join("; ", errors)}.");
        }

        return new ModelCatalog(file.Models, loras);
    }

    private static ModelCatalog LoadBuiltIn()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("FewStep.Diffusion.Catalog.catalog.json")
            ?? throw new InvalidOperationException("The built-in catalog.json resource is missing from FewStep.Diffusion.");
        return Parse(stream, "built-in catalog.json");
    }

    private sealed record CatalogFile
    {
        [System.Text.Json.Serialization.JsonPropertyName("models")]
        public List<ModelCatalogEntry>? Models { get; init; }

        [System.Text.Json.Serialization.JsonPropertyName("loras")]
        public List<LoraCatalogEntry>? Loras { get; init; }
    }
}
