using System.Diagnostics;
using FewStep.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Sessions;

/// <summary>
/// One <see cref="InferenceSession"/> for one model file, created once and shared: ONNX Runtime's <c>Run</c> is
/// safe for concurrent callers. Maps a <see cref="CancellationToken"/> onto <see cref="RunOptions.Terminate"/>
/// so a cancelled generation stops inside a long UNet or VAE call too.
/// </summary>
public sealed class OnnxModelSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly Lock _gate = new();
    private OrtAllocator? _deviceAllocator;
    private OrtMemoryInfo? _deviceMemory;

    internal OnnxModelSession(string component, string modelPath, InferenceSession session, ExecutionProviderKind provider, int deviceId = 0,
        bool arena = true)
    {
        Component = component;
        ModelPath = modelPath;
        _session = session;
        Provider = provider;
        DeviceId = deviceId;

        // ONNX Runtime's run option naming the arenas to shrink at the end of a run; shrinking a disabled arena is an error.
        ArenaShrinkage = provider == ExecutionProviderKind.Cuda
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"gpu:{deviceId}")
            : arena ? "cpu:0" : null;
    }

    /// <summary>The arenas <see cref="Run(IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, OnnxRunClock?, CancellationToken, bool)"/> shrinks when asked, or null.</summary>
    internal string? ArenaShrinkage { get; }

    /// <summary>The CUDA device the session runs on (meaningful when <see cref="Provider"/> is CUDA).</summary>
    public int DeviceId { get; }

    /// <summary>The component folder name (<c>unet</c>, <c>text_encoder_2</c>, ...), used in messages.</summary>
    public string Component { get; }

    public string ModelPath { get; }

    public ExecutionProviderKind Provider { get; }

    public IReadOnlyDictionary<string, NodeMetadata> Inputs => _session.InputMetadata;

    public IReadOnlyDictionary<string, NodeMetadata> Outputs => _session.OutputMetadata;

    public bool HasInput(string name) => _session.InputMetadata.ContainsKey(name);

    public NodeMetadata RequireInput(string name) => Require(_session.InputMetadata, name, "input");

    public NodeMetadata RequireOutput(string name) => Require(_session.OutputMetadata, name, "output");

    /// <summary>
    /// Runs with outputs written into pre-allocated tensors. <paramref name="shrinkArena"/> hands the memory the run
    /// took back to the system at its end: for a run that peaks far above the rest (the VAE decode at full
    /// resolution), so that a warm worker does not hold that peak between requests.
    /// </summary>
    public void Run(
        IReadOnlyCollection<string> inputNames,
        IReadOnlyCollection<OrtValue> inputs,
        IReadOnlyCollection<string> outputNames,
        IReadOnlyCollection<OrtValue> outputs,
        OnnxRunClock? clock,
        CancellationToken cancellationToken,
        bool shrinkArena = false) =>
        Timed(runOptions =>
        {
            if (shrinkArena && ArenaShrinkage is { } arenas)
            {
                runOptions.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", arenas);
            }

            _session.Run(runOptions, inputNames, inputs, outputNames, outputs);
            return true;
        }, clock, cancellationToken);

    /// <summary>Runs with outputs allocated by ONNX Runtime (for once-per-generation calls of data-dependent shape).</summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(
        IReadOnlyCollection<string> inputNames,
        IReadOnlyCollection<OrtValue> inputs,
        IReadOnlyCollection<string> outputNames,
        OnnxRunClock? clock,
        CancellationToken cancellationToken) =>
        Timed(runOptions => _session.Run(runOptions, inputNames, inputs, outputNames), clock, cancellationToken);

    /// <summary>Runs with the inputs and outputs bound in <paramref name="binding"/>.</summary>
    public void Run(OrtIoBinding binding, OnnxRunClock? clock, CancellationToken cancellationToken) =>
        Timed(runOptions =>
        {
            _session.RunWithBinding(runOptions, binding);
            return true;
        }, clock, cancellationToken);

    internal OrtIoBinding CreateIoBinding() => _session.CreateIoBinding();

    /// <summary>The session's CUDA device allocator (created on first use; CUDA sessions only).</summary>
    internal OrtAllocator DeviceAllocator()
    {
        lock (_gate)
        {
            if (_deviceAllocator is null)
            {
                _deviceMemory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, DeviceId, OrtMemType.Default);
                _deviceAllocator = new OrtAllocator(_session, _deviceMemory);
            }

            return _deviceAllocator;
        }
    }

    /// <summary>What the session reads from while it lives (merged LoRA weights given as initializers); disposed after it.</summary>
    internal IDisposable? KeepAlive { get; set; }

    public void Dispose()
    {
        _deviceAllocator?.Dispose();
        _deviceMemory?.Dispose();
        _session.Dispose();
        KeepAlive?.Dispose();
        KeepAlive = null;
    }

    private T Timed<T>(Func<RunOptions, T> run, OnnxRunClock? clock, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        var start = Stopwatch.GetTimestamp();
        try
        {
            return run(runOptions);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"{Component} run was cancelled.", cancellationToken);
        }
        finally
        {
            clock?.Add(start);
        }
    }

    private NodeMetadata Require(IReadOnlyDictionary<string, NodeMetadata> nodes, string name, string kind)
    {
        if (nodes.TryGetValue(name, out var metadata))
        {
            return metadata;
        }

        throw new DiffusionException(
            $"'{ModelPath}' has no {kind} named '{name}' (its {kind}s: {string.Join(", ", nodes.Keys)}); " +
            $"is it an optimum export of a diffusers {Component}?");
    }
}
