using System.Collections.Concurrent;
using FewStep.Diffusion;
using FewStep.Diffusion.Catalog;
using FewStep.Diffusion.Configuration;
using FewStep.Functions.Contracts;
using FewStep.Functions.Options;
using FewStep.Onnx.Lora;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Rendering;

/// <summary>
/// The models this app serves: the catalog (built-in, extended by the configured catalog file), each model's
/// folder facts for validation, and its pipeline — loaded once per process on first use and shared.
/// </summary>
public sealed partial class ModelRegistry : IDisposable
{
    private readonly FewStepOptions _options;
    private readonly OnnxSessionFactory _sessions;
    private readonly ILogger<ModelRegistry> _logger;
    private readonly ConcurrentDictionary<string, Lazy<ModelInfo>> _infos = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<(string Folder, string Sha256), Lazy<string?>> _loraChecks = new();
    private readonly PipelineCache _pipelines;

    public ModelRegistry(IOptions<FewStepOptions> options, OnnxSessionFactory sessions, ILogger<ModelRegistry> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _sessions = sessions;
        _logger = logger;
        var file = _options.EffectiveCatalogFile;
        Catalog = file is null ? ModelCatalog.BuiltIn : ModelCatalog.BuiltIn.Extend(ModelCatalog.Load(file));
        _pipelines = new PipelineCache(sessions, _options.MaxLoraVariantsPerModel);
        _pipelines.Loaded += (key, pipeline, elapsed) => LogPipelineLoaded(_logger, key, pipeline.Folder.Root, pipeline.Provider, pipeline.Loras.Count, (long)elapsed.TotalMilliseconds);
        _pipelines.Evicted += key => LogPipelineEvicted(_logger, key);
    }

    /// <summary>The folder LoRA files are named from: <c>&lt;ModelRoot&gt;/loras</c>.</summary>
    public string LoraFolder => Path.Combine(_options.ModelRoot, LoraCatalogEntry.FolderName);

    /// <summary>
    /// The file of the LoRA a request names: a catalog LoRA's file, or <c>loras/&lt;name&gt;.safetensors</c>. A name
    /// can never leave the folder (<see cref="LoraNames"/>); null when it is not installed.
    /// </summary>
    public string? ResolveLora(string name)
    {
        if (!LoraNames.IsValid(name))
        {
            return null;
        }

        var path = Catalog.TryGetLora(name, out var entry)
            ? entry.ResolvePath(_options.ModelRoot)
            : Path.GetFullPath(Path.Combine(LoraFolder, name + ".safetensors"));
        return File.Exists(path) ? path : null;
    }

    /// <summary>The LoRA names a request may use now: installed catalog LoRAs and the files in the LoRA folder.</summary>
    public IReadOnlyList<string> InstalledLoras()
    {
        var files = Directory.Exists(LoraFolder)
            ? Directory.EnumerateFiles(LoraFolder, "*.safetensors").Select(Path.GetFileNameWithoutExtension).OfType<string>().Where(LoraNames.IsValid)
            : [];
        return files.Concat(Catalog.Loras.Where(l => File.Exists(l.ResolvePath(_options.ModelRoot))).Select(l => l.Name))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// Why the LoRA at <paramref name="path"/> does not fit <paramref name="model"/> (a key no layer has, a shape, SDXL
    /// against SD), or null when it fits. Checked once per model and file content.
    /// </summary>
    public string? LoraMismatch(ModelInfo model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var key = (model.Folder, LoraFileHashes.Of(path));
        var lazy = _loraChecks.GetOrAdd(key, k => new Lazy<string?>(() =>
        {
            try
            {
                LoraCompatibility.Check(k.Folder, path);
                return null;
            }
            catch (DiffusionException e)
            {
                return e.Message;
            }
        }));
        return Resolve(_loraChecks, key, lazy);
    }

    public ModelCatalog Catalog { get; }

    public bool TryGetEntry(string name, out ModelCatalogEntry entry) => Catalog.TryGet(name, out entry);

    /// <summary>The model's folder facts; a <see cref="DiffusionException"/> when the folder is missing or broken.</summary>
    public ModelInfo Describe(ModelCatalogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var lazy = _infos.GetOrAdd(entry.Name, _ => new Lazy<ModelInfo>(() =>
        {
            var folder = ModelFolder.Open(entry.ResolveFolder(_options.ModelRoot));
            return new ModelInfo(entry, folder.Root, folder.Family, ModelGeometry.Read(folder));
        }));
        return Resolve(_infos, entry.Name, lazy);
    }

    /// <summary>Whether the entry's model folder is there and opens (<see cref="Describe"/> does not fail).</summary>
    public bool IsInstalled(ModelCatalogEntry entry)
    {
        try
        {
            _ = Describe(entry);
            return true;
        }
        catch (DiffusionException)
        {
            return false;
        }
    }

    /// <summary>The catalog models that are installed, by name.</summary>
    public IReadOnlyList<string> InstalledModels() =>
        Catalog.Entries.Where(IsInstalled).Select(e => e.Name).Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// The model's pipeline (any family) with <paramref name="loras"/> merged, loaded on first use and shared (sessions
    /// load once per process and LoRA set); dispose the lease when the render is done.
    /// </summary>
    public PipelineLease AcquirePipeline(ModelCatalogEntry entry, IReadOnlyList<LoraChoice>? loras = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var specs = (loras ?? []).Select(l => new LoraSpec(
            ResolveLora(l.Name) ?? throw new DiffusionException($"LoRA '{l.Name}' is not installed in {LoraFolder}."), l.Scale)).ToList();
        return _pipelines.Acquire(entry.ResolveFolder(_options.ModelRoot), specs);
    }

    public void Dispose() => _pipelines.Dispose();

    // A failed load is not cached: the model may be installed or fixed while the app runs.
    private static T Resolve<TKey, T>(ConcurrentDictionary<TKey, Lazy<T>> cache, TKey name, Lazy<T> lazy)
        where TKey : notnull
    {
        try
        {
            return lazy.Value;
        }
        catch
        {
            cache.TryRemove(new KeyValuePair<TKey, Lazy<T>>(name, lazy));
            throw;
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Loaded pipeline {Key} from {Folder} on {Provider} with {LoraCount} LoRA(s) in {ElapsedMs} ms")]
    private static partial void LogPipelineLoaded(ILogger logger, string key, string folder, ExecutionProviderKind provider, int loraCount, long elapsedMs);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Evicted LoRA pipeline {Key} (MaxLoraVariantsPerModel reached); it is disposed once its renders finish")]
    private static partial void LogPipelineEvicted(ILogger logger, string key);
}
