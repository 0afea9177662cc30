using System.Globalization;
using FewStep.Onnx.Lora;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Pipelines;

/// <summary>
/// Loaded pipelines keyed by (model folder, sorted (LoRA sha256, scale) list). The plain model stays loaded; of its
/// LoRA variants at most <c>maxLoraVariantsPerModel</c> are kept per folder, the least recently used evicted and
/// disposed once no lease holds it. Loads are not cached when they fail (the file may be fixed while the process runs),
/// and one load per key runs at a time however many callers ask for it.
/// </summary>
public sealed class PipelineCache : IDisposable
{
    private readonly OnnxSessionFactory _sessions;
    private readonly int _maxLoraVariantsPerModel;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _clock;
    private bool _disposed;

    public PipelineCache(OnnxSessionFactory sessions, int maxLoraVariantsPerModel)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLoraVariantsPerModel);
        _sessions = sessions;
        _maxLoraVariantsPerModel = maxLoraVariantsPerModel;
    }

    /// <summary>Raised after a pipeline is loaded (key, pipeline, load time) — for logs.</summary>
    public event Action<string, ITextToImagePipeline, TimeSpan>? Loaded;

    /// <summary>Raised when a LoRA variant is evicted (key) — for logs and tests.</summary>
    public event Action<string>? Evicted;

    /// <summary>Keys of the pipelines held now, loaded or loading.</summary>
    public IReadOnlyList<string> Keys
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries.Keys];
            }
        }
    }

    /// <summary>
    /// The pipeline for <paramref name="modelFolder"/> with <paramref name="loras"/> merged, loaded on first use.
    /// Errors of the folder or of a LoRA file are <see cref="FewStep.Diffusion.DiffusionException"/>s naming it.
    /// </summary>
    public PipelineLease Acquire(string modelFolder, IReadOnlyList<LoraSpec>? loras = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelFolder);
        loras ??= [];
        var folder = Path.GetFullPath(modelFolder);
        var key = KeyOf(folder, loras);
        Entry entry;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_entries.TryGetValue(key, out entry!))
            {
                entry = new Entry(folder, loras.Count > 0, new Lazy<ITextToImagePipeline>(() => Load(key, folder, loras), LazyThreadSafetyMode.ExecutionAndPublication));
                _entries[key] = entry;
            }

            entry.Leases++;
            entry.LastUsed = ++_clock;
        }

        ITextToImagePipeline pipeline;
        try
        {
            pipeline = entry.Pipeline.Value;
        }
        catch
        {
            lock (_gate)
            {
                entry.Leases--;
                if (_entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
                {
                    _entries.Remove(key);
                }
            }

            throw;
        }

        EvictBeyondLimit(folder);
        return new PipelineLease(pipeline, () => Release(entry));
    }

    /// <summary>The cache key: folder and the sorted (sha256, scale) of its LoRAs (their order does not change the sum).</summary>
    public static string KeyOf(string modelFolder, IReadOnlyList<LoraSpec> loras)
    {
        ArgumentNullException.ThrowIfNull(loras);
        var folder = Path.GetFullPath(modelFolder);
        if (loras.Count == 0)
        {
            return folder;
        }

        var parts = loras
            .Select(l => string.Create(CultureInfo.InvariantCulture, $"{LoraFileHashes.Of(l.Path)}:{l.Scale:R}"))
            .Order(StringComparer.Ordinal);
        return folder + "|" + string.Join(",", parts);
    }

    /// <summary>Disposes every pipeline no lease holds now; a borrowed one goes when its last lease ends.</summary>
    public void Dispose()
    {
        List<Entry> idle;
        lock (_gate)
        {
            _disposed = true;
            idle = [.. _entries.Values.Where(e => e.Leases == 0 && !e.Disposed)];
            foreach (var entry in idle)
            {
                entry.Disposed = true;
            }

            _entries.Clear();
        }

        foreach (var entry in idle.Where(e => e.Pipeline.IsValueCreated))
        {
            DisposeQuietly(entry);
        }
    }

    private ITextToImagePipeline Load(string key, string folder, IReadOnlyList<LoraSpec> loras)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var pipeline = TextToImagePipeline.Load(folder, _sessions, new PipelineLoadOptions { Loras = loras });
        Loaded?.Invoke(key, pipeline, System.Diagnostics.Stopwatch.GetElapsedTime(start));
        return pipeline;
    }

    private void EvictBeyondLimit(string folder)
    {
        var evicted = new List<(string Key, Entry Entry)>();
        lock (_gate)
        {
            var variants = _entries.Where(e => e.Value.HasLoras && e.Value.Folder == folder && e.Value.Pipeline.IsValueCreated)
                .OrderBy(e => e.Value.LastUsed).ToList();
            for (var i = 0; i < variants.Count - _maxLoraVariantsPerModel; i++)
            {
                var (key, entry) = (variants[i].Key, variants[i].Value);
                _entries.Remove(key);
                entry.Evicted = true;
                evicted.Add((key, entry));
            }
        }

        foreach (var (key, entry) in evicted)
        {
            Evicted?.Invoke(key);
            Release(entry, lease: false);
        }
    }

    private void Release(Entry entry) => Release(entry, lease: true);

    private void Release(Entry entry, bool lease)
    {
        bool dispose;
        lock (_gate)
        {
            if (lease)
            {
                entry.Leases--;
            }

            dispose = (entry.Evicted || _disposed) && entry.Leases == 0 && !entry.Disposed;
            entry.Disposed |= dispose;
        }

        if (dispose && entry.Pipeline.IsValueCreated)
        {
            DisposeQuietly(entry);
        }
    }

    private static void DisposeQuietly(Entry entry) => entry.Pipeline.Value.Dispose();


    private sealed class Entry(string folder, bool hasLoras, Lazy<ITextToImagePipeline> pipeline)
    {
        public string Folder { get; } = folder;

        public bool HasLoras { get; } = hasLoras;

        public Lazy<ITextToImagePipeline> Pipeline { get; } = pipeline;

        public int Leases { get; set; }

        public long LastUsed { get; set; }

        public bool Evicted { get; set; }

        public bool Disposed { get; set; }
    }
}
