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

    internal OnnxModelSession(string component, string modelPath, InferenceSession session, ExecutionProviderKind provider)
    {
        Component = component;
        ModelPath = modelPath;
        _session = session;
        Provider = provider;
    }

    /// <summary>The component folder name (<c>unet</c>, <c>text_encoder_2</c>, ...), used in messages.</summary>
    public string Component { get; }

    public string ModelPath { get; }

    public ExecutionProviderKind Provider { get; }

    public IReadOnlyDictionary<string, NodeMetadata> Inputs => _session.InputMetadata;

    public IReadOnlyDictionary<string, NodeMetadata> Outputs => _session.OutputMetadata;

    public bool HasInput(string name) => _session.InputMetadata.ContainsKey(name);

    public NodeMetadata RequireInput(string name) => Require(_session.InputMetadata, name, "input");

    public NodeMetadata RequireOutput(string name) => Require(_session.OutputMetadata, name, "output");

    /// <summary>Runs with outputs written into pre-allocated tensors.</summary>
    public void Run(
        IReadOnlyCollection<string> inputNames,
        IReadOnlyCollection<OrtValue> inputs,
        IReadOnlyCollection<string> outputNames,
        IReadOnlyCollection<OrtValue> outputs,
        OnnxRunClock? clock,
        CancellationToken cancellationToken) =>
        Timed(runOptions =>
        {
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

    /// <summary>What the session reads from while it lives (merged LoRA weights given as initializers); disposed after it.</summary>
    internal IDisposable? KeepAlive { get; set; }

    public void Dispose()
    {
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
