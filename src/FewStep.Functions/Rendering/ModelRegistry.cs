using System.Collections.Concurrent;
using FewStep.Diffusion;
using FewStep.Diffusion.Catalog;
using FewStep.Diffusion.Configuration;
using FewStep.Functions.Options;
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
    private readonly ConcurrentDictionary<string, Lazy<ITextToImagePipeline>> _pipelines = new(StringComparer.OrdinalIgnoreCase);

    public ModelRegistry(IOptions<FewStepOptions> options, OnnxSessionFactory sessions, ILogger<ModelRegistry> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _sessions = sessions;
        _logger = logger;
        var file = _options.EffectiveCatalogFile;
        Catalog = file is null ? ModelCatalog.BuiltIn : ModelCatalog.BuiltIn.Extend(ModelCatalog.Load(file));
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

    /// <summary>The model's pipeline (any family), created on first use (sessions load once per process).</summary>
    public ITextToImagePipeline GetPipeline(ModelCatalogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var lazy = _pipelines.GetOrAdd(entry.Name, _ => new Lazy<ITextToImagePipeline>(() =>
        {
            var pipeline = TextToImagePipeline.Load(entry.ResolveFolder(_options.ModelRoot), _sessions);
            LogPipelineLoaded(_logger, entry.Name, pipeline.Folder.Root, pipeline.Provider);
            return pipeline;
        }));
        return Resolve(_pipelines, entry.Name, lazy);
    }

    public void Dispose()
    {
        foreach (var pipeline in _pipelines.Values.Where(p => p.IsValueCreated))
        {
            pipeline.Value.Dispose();
        }
    }

    // A failed load is not cached: the model may be installed or fixed while the app runs.
    private static T Resolve<T>(ConcurrentDictionary<string, Lazy<T>> cache, string name, Lazy<T> lazy)
    {
        try
        {
            return lazy.Value;
        }
        catch
        {
            cache.TryRemove(new KeyValuePair<string, Lazy<T>>(name, lazy));
            throw;
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Loaded model {Model} from {Folder} on {Provider}")]
    private static partial void LogPipelineLoaded(ILogger logger, string model, string folder, ExecutionProviderKind provider);
}
