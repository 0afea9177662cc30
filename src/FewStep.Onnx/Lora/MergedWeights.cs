using System.Runtime.InteropServices;
using FewStep.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Lora;

/// <summary>
/// The weights of one component after a LoRA merge: a merged copy of each changed initializer, in the
/// initializer's element type, handed to ONNX Runtime under the initializer's name so that it uses them instead of
/// the model file's. No model file is written, and the base weights are read once, never copied twice.
/// </summary>
/// <remarks>
/// <para>
/// Lifetime: weights handed over as external initializers are copied by ONNX Runtime 1.31 while the session is
/// created (measured: overwriting the buffers afterwards changes no output, on the real-size UNet too; a test
/// keeps checking it), so a session that only got those no longer needs this object — keeping it would hold the
/// merged weights twice (measured +3.9 GB on the real-size UNet). Weights given through
/// <see cref="SessionOptions.AddInitializer"/> (inline weights) are read in place: keep this object undisposed
/// until every session created with options passed to <see cref="AddTo"/> has been disposed.
/// </para>
/// <para>
/// How ORT takes them depends on where the model keeps the weight. A weight in an external-data file (every
/// real-size export: skeletons/realsize-sd-turbo keeps all 282 UNet and 138 text-encoder weights in
/// model.onnx_data) is replaced through the C API's <c>AddExternalInitializers</c>, before graph optimization and
/// device placement, so every optimization sees the merged values (measured on CPU at every level; on CUDA ORT
/// then copies them to the device like any weight, per its source, not yet measured).
/// </para>
/// <para>
/// A weight inline in model.onnx (the tiny conformance models) cannot be replaced that way: ORT refuses. It goes
/// through <see cref="SessionOptions.AddInitializer"/>, which ORT honours only for an initializer no optimization
/// rewrote: measured on CPU, NCHWc reorders every Conv weight at ORT_ENABLE_ALL, Conv+Mul folds a scale into the
/// weight even at ORT_ENABLE_BASIC, and a float16 weight is converted to float32 for the CPU kernels, each from the
/// model file's values. So for inline weights <see cref="AddTo"/> also switches off
/// <see cref="WeightRewritingOptimizers"/> (some CPU speed lost). On CUDA, per ORT's source, such a CPU value is
/// skipped with a warning whenever the weight is planned on the GPU: there use <see cref="CreatePatchedModel"/>.
/// </para>
/// </remarks>
public sealed class MergedWeights : IDisposable
{
    /// <summary>The session config key ORT reads a ';'-separated list of optimizers (by name) to skip from.</summary>
    public const string DisabledOptimizersKey = "optimization.disable_specified_optimizers";

    /// <summary>
    /// ORT optimizers that write a MatMul, Gemm or Conv weight into a new initializer from the model file's values,
    /// bypassing a value given by <see cref="SessionOptions.AddInitializer"/>: the NCHWc and NHWC layouts (Conv
    /// weights reordered), the Conv+Mul, Conv+BatchNormalization and MatMul+BatchNormalization fusions (weights
    /// scaled), attention fusion (Q, K, V weights concatenated) and the float16-initializer-to-float32 conversion
    /// for kernels without float16. NCHWc, Conv+Mul and the float16 conversion are covered by tests; the others
    /// are listed from what they do. Only set for inline weights.
    /// </summary>
    public static readonly IReadOnlyList<string> WeightRewritingOptimizers =
    [
        "NchwcTransformer", "NhwcTransformer", "ConvMulFusion", "ConvBNFusion", "MatMul_BatchNormalization_Fusion",
        "AttentionFusion", "FuseFp16InitializerToFp32NodeTransformer",
    ];

    private readonly IReadOnlyList<MergedInitializer> _initializers;
    private bool _disposed;

    internal MergedWeights(string component, string modelPath, IReadOnlyList<MergedInitializer> initializers, MergeStatistics statistics)
    {
        Component = component;
        ModelPath = modelPath;
        _initializers = initializers;
        Statistics = statistics;
    }

    public string Component { get; }

    /// <summary>The model whose initializers these replace.</summary>
    public string ModelPath { get; }

    public MergeStatistics Statistics { get; }

    /// <summary>The replaced initializers' names, in merge order.</summary>
    public IReadOnlyList<string> InitializerNames => [.. _initializers.Select(i => i.Name)];

    /// <summary>Whether some replaced weight is inline in model.onnx (see the remarks: CPU only through <see cref="AddTo"/>).</summary>
    public bool HasInlineWeights => _initializers.Any(i => !i.IsExternal);

    /// <summary>Whether every replaced weight is inline <c>raw_data</c> (so <see cref="CreatePatchedModel"/> can carry them all).</summary>
    public bool InlineOnly => _initializers.All(i => i.Storage.Kind == OnnxTensorStorageKind.RawData);

    /// <summary>
    /// Hands the merged weights to ONNX Runtime for sessions created with <paramref name="options"/> (one
    /// <see cref="MergedWeights"/> may go to several options, e.g. a CUDA attempt and a CPU fallback). For inline
    /// weights it also sets <see cref="DisabledOptimizersKey"/> to <see cref="WeightRewritingOptimizers"/>,
    /// replacing any value set before.
    /// </summary>
    public void AddTo(SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var external = _initializers.Where(i => i.IsExternal).ToList();
        if (external.Count > 0)
        {
            OrtNativeApi.AddExternalInitializers(options, [.. external.Select(i => (i.Name, i.ElementType, i.Shape, i.Address, i.Bytes))]);

        }

        var inline = _initializers.Where(i => !i.IsExternal).ToList();
        foreach (var initializer in inline)
        {
            options.AddInitializer(initializer.Name, initializer.Value);
        }

        if (inline.Count > 0)
        {
            options.AddSessionConfigEntry(DisabledOptimizersKey, string.Join(';', WeightRewritingOptimizers));
        }
    }

    /// <summary>
    /// The model file's bytes with each merged inline weight written over its <c>raw_data</c> (same size, so nothing
    /// else moves): for <c>new InferenceSession(bytes, options)</c> where <see cref="AddTo"/> cannot reach inline
    /// weights (CUDA). Costs one copy of the model file in memory until the session is created.
    /// </summary>
    /// <exception cref="DiffusionException">A replaced weight is external, or stored in typed fields rather than raw_data.</exception>
    public byte[] CreatePatchedModel()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var notRaw = _initializers.FirstOrDefault(i => i.Storage.Kind != OnnxTensorStorageKind.RawData);
        if (notRaw is not null)
        {
            throw new DiffusionException(
                $"The merged weight '{notRaw.Name}' of '{ModelPath}' is not inline raw_data ({notRaw.Storage.Kind}); " +
                $"use {nameof(MergedWeights)}.{nameof(AddTo)} for a model with external data.");
        }

        var model = File.ReadAllBytes(ModelPath);
        foreach (var initializer in _initializers)
        {
            var bytes = initializer.AsBytes();
            if (bytes.Length != initializer.Storage.Length || initializer.Storage.Offset + bytes.Length > model.Length)
            {
                throw new DiffusionException($"'{ModelPath}' changed since it was indexed: '{initializer.Name}' no longer fits at byte {initializer.Storage.Offset}.");
            }

            bytes.CopyTo(model.AsSpan(checked((int)initializer.Storage.Offset)));
        }

        return model;
    }

    /// <summary>
    /// Overwrites every merged buffer with <paramref name="value"/>: the test that shows ONNX Runtime copied the
    /// external initializers when the session was created (so they may be released then) uses it.
    /// </summary>
    internal void OverwriteBuffers(byte value)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var initializer in _initializers)
        {
            var bytes = new byte[initializer.Bytes];
            bytes.AsSpan().Fill(value);
            Marshal.Copy(bytes, 0, initializer.Address, bytes.Length);
        }
    }

    /// <summary>A merged weight widened to float32 (a copy), by initializer name.</summary>
    public float[] ReadMerged(string initializerName)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _initializers.FirstOrDefault(i => i.Name == initializerName)?.ToFloat()
            ?? throw new KeyNotFoundException($"'{initializerName}' was not replaced by the merge into '{ModelPath}'.");
    }

    /// <summary>Releases the merged buffers: only after every session that uses them is disposed.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var initializer in _initializers)
        {
            initializer.Dispose();
        }
    }
}
