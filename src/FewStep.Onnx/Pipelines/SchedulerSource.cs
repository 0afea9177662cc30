using System.Text.Json;
using FewStep.Diffusion.Schedulers;

namespace FewStep.Onnx.Pipelines;

/// <summary>
/// A model folder's <c>scheduler_config.json</c>, read and checked once at load; each generation gets its own
/// scheduler from it, with the request's replacement and overrides applied.
/// </summary>
internal sealed class SchedulerSource
{
    private readonly string _path;
    private readonly string _json;

    public SchedulerSource(string path)
    {
        _path = path;
        _json = File.ReadAllText(path);
        Config = SchedulerConfig.Parse(_json, path);
        SchedulerFactory.Create(Config);
    }

    /// <summary>The folder's config, before any per-request replacement or overrides.</summary>
    public SchedulerConfig Config { get; }

    public IScheduler Create(IReadOnlyDictionary<string, JsonElement>? replacement, IReadOnlyDictionary<string, JsonElement>? overrides) =>
        replacement is not { Count: > 0 } && overrides is not { Count: > 0 }
            ? SchedulerFactory.Create(Config)
            : SchedulerFactory.Create(SchedulerReplacement.Apply(_json, _path, replacement, overrides));
}
