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
    private readonly Lock _runGate = new();
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

    /// <summary>
    /// Runs with the inputs and outputs bound in <paramref name="binding"/>; <paramref name="graphId"/> names the CUDA
    /// graph to capture or replay (<see cref="CudaGraphSlot"/>), none when null.
    /// </summary>
    public void Run(OrtIoBinding binding, OnnxRunClock? clock, CancellationToken cancellationToken, int? graphId = null) =>
        Timed(runOptions =>
        {
            _session.RunWithBinding(runOptions, binding);
            return true;
        }, clock, cancellationToken, graphId);

    /// <summary>
    /// The CUDA graphs of a session created with ONNX Runtime's <c>enable_cuda_graph</c> (the denoiser, with
    /// <see cref="OnnxExecutionOptions.EnableCudaGraph"/>), or null. Such a session's runs are serialised, as ONNX
    /// Runtime requires, and a run that names no graph runs without one.
    /// </summary>
    internal CudaGraphPool? CudaGraphs { get; private set; }

    /// <summary>Gives the session a pool of <paramref name="capacity"/> graphs (on CPU, the same slots without capture: for tests).</summary>
    internal void UseCudaGraphs(int capacity) => CudaGraphs = new CudaGraphPool(capacity);

    internal OrtIoBinding CreateIoBinding() => _session.CreateIoBinding();

    /// <summary>The allocator of the memory the session runs in: its CUDA device allocator (created on first use), or the CPU one.</summary>
    internal OrtAllocator Allocator()
    {
        if (Provider != ExecutionProviderKind.Cuda)
        {
            return OrtAllocator.DefaultInstance;
        }

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
        CudaGraphs?.Dispose();
        _deviceAllocator?.Dispose();
        _deviceMemory?.Dispose();
        _session.Dispose();
        KeepAlive?.Dispose();
        KeepAlive = null;
    }

    private T Timed<T>(Func<RunOptions, T> run, OnnxRunClock? clock, CancellationToken cancellationToken, int? graphId = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var runOptions = new RunOptions();
        if (CudaGraphs is null)
        {
            return TimedCore(run, runOptions, clock, cancellationToken);
        }

        // ONNX Runtime does not support concurrent runs of a session with CUDA graphs; -1 runs without capturing anything.
        if (Provider == ExecutionProviderKind.Cuda)
        {
            runOptions.AddRunConfigEntry("gpu_graph_id", (graphId ?? -1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        lock (_runGate)
        {
            return TimedCore(run, runOptions, clock, cancellationToken);
        }
    }

    private T TimedCore<T>(Func<RunOptions, T> run, RunOptions runOptions, OnnxRunClock? clock, CancellationToken cancellationToken)
    {
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
