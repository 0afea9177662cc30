using FewStep.Diffusion;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using FewStep.Onnx.Graphs;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Sessions;

/// <summary>
/// Creates sessions on the configured execution provider. When CUDA is asked for but cannot be used (no driver,
/// no CUDA or cuDNN libraries, no device), it falls back to CPU with a warning that says why, once.
/// </summary>
public sealed partial class OnnxSessionFactory
{
    private readonly OnnxExecutionOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private string? _cudaFailure;

    public OnnxSessionFactory(OnnxExecutionOptions options, ILogger<OnnxSessionFactory>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new DiffusionException(string.Join(" ", errors));
        }

        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public OnnxExecutionOptions Options => _options;

    public OnnxModelSession Create(string component, string modelPath) => Create(component, modelPath, null, null);

    /// <summary>
    /// Creates a session with <paramref name="configure"/> applied to its options (e.g. merged LoRA weights given as
    /// initializers). <paramref name="keepAlive"/> is owned by the session and disposed after it: ONNX Runtime reads
    /// user initializers from their buffers for as long as the session lives. It is disposed here if creation fails.
    /// </summary>
    public OnnxModelSession Create(string component, string modelPath, Action<SessionOptions>? configure, IDisposable? keepAlive)
    {
        try
        {
            var session = CreateCore(component, modelPath, configure);
            session.KeepAlive = keepAlive;
            return session;
        }
        catch
        {
            keepAlive?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a session from <paramref name="modelBytes"/> (a model file changed in memory, e.g. with merged LoRA
    /// weights written over its inline data); <paramref name="modelPath"/> is the file it came from, for messages.
    /// The bytes may be dropped once this returns: ONNX Runtime keeps its own copy.
    /// </summary>
    public OnnxModelSession Create(string component, string modelPath, byte[] modelBytes)
    {
        ArgumentNullException.ThrowIfNull(modelBytes);
        return CreateCore(component, modelPath, null, modelBytes);
    }

    private OnnxModelSession CreateCore(string component, string modelPath, Action<SessionOptions>? configure, byte[]? modelBytes = null)
    {
        if (!File.Exists(modelPath))
        {
            throw new DiffusionException($"Missing ONNX model '{modelPath}' ({component}).");
        }

        if (_options.ExecutionProvider == ExecutionProviderKind.Cuda && CudaFailure is null)
        {
            try
            {
                return CreateCuda(component, modelPath, configure, modelBytes);
            }
            catch (OnnxRuntimeException e) when (_options.FallBackToCpu)
            {
                lock (_gate)
                {
                    _cudaFailure ??= e.Message;
                }

                LogCudaFallback(_logger, _options.DeviceId, e.Message);
            }
            catch (OnnxRuntimeException e)
            {
                throw new DiffusionException(
                    $"CUDA device {_options.DeviceId} cannot run '{modelPath}': {e.Message} " +
                    $"(set {OnnxExecutionOptions.SectionName}:{nameof(OnnxExecutionOptions.FallBackToCpu)}=true to run on CPU instead).",
                    e);
            }
        }

        using var cpuOptions = CreateSessionOptions(useCuda: false);
        configure?.Invoke(cpuOptions);
        try
        {
            var cpuModel = Prepare(component, modelPath, modelBytes, cuda: false);
            return new OnnxModelSession(component, modelPath, Open(modelPath, cpuModel, cpuOptions), ExecutionProviderKind.Cpu, 0, _options.EnableCpuMemArena);
        }
        catch (OnnxRuntimeException e) when (e.Message.Contains("Could not find an implementation", StringComparison.Ordinal) &&
                                             ContribOps(modelPath, modelBytes) is { Count: > 0 } contrib)
        {
            throw new DiffusionException(
                $"'{modelPath}' ({component}) uses ONNX Runtime contrib ops ({string.Join(", ", contrib)}) that this execution provider (CPU) " +
                $"has no kernel for: it is an export optimised for GPUs (float16 with fused attention and GroupNorm). Run it on CUDA " +
                $"({OnnxExecutionOptions.SectionName}:{nameof(OnnxExecutionOptions.ExecutionProvider)}=Cuda, --device cuda) or use a float32 export. ({e.Message})",
                e);
        }
        catch (OnnxRuntimeException e)
        {
            throw new DiffusionException($"ONNX Runtime cannot load '{modelPath}' ({component}): {e.Message}", e);
        }
    }

    // The model is prepared once: a session ONNX Runtime refuses to capture graphs of opens again from the same bytes.
    private OnnxModelSession CreateCuda(string component, string modelPath, Action<SessionOptions>? configure, byte[]? modelBytes)
    {
        var model = Prepare(component, modelPath, modelBytes, cuda: true);
        if (_options.EnableCudaGraph && IsDenoiser(component))
        {
            try
            {
                var session = OpenCuda(component, modelPath, configure, model, cudaGraph: true);
                session.UseCudaGraphs(_options.CudaGraphShapes);
                return session;
            }
            catch (OnnxRuntimeException e) when (e.Message.Contains("graph capture", StringComparison.OrdinalIgnoreCase))
            {
                LogCudaGraphRefused(_logger, component, modelPath, e.Message);
            }
        }

        return OpenCuda(component, modelPath, configure, model, cudaGraph: false);
    }

    private OnnxModelSession OpenCuda(string component, string modelPath, Action<SessionOptions>? configure, byte[]? model, bool cudaGraph)
    {
        using var options = CreateSessionOptions(useCuda: true, cudaGraph);
        configure?.Invoke(options);
        return new OnnxModelSession(component, modelPath, Open(modelPath, model, options), ExecutionProviderKind.Cuda, _options.DeviceId);
    }

    /// <summary>The components run once per step (optimum's folder names), the only ones CUDA graphs pay for.</summary>
    public static bool IsDenoiser(string component) => component is "unet" or "transformer";

    // The com.microsoft op types of a model's top-level graph (GPU exports' fused ops), for the message above.
    private static List<string> ContribOps(string modelPath, byte[]? modelBytes)
    {
        try
        {
            var graph = OnnxModelGraph.Parse(modelBytes ?? File.ReadAllBytes(modelPath), modelPath);
            return graph.Nodes.Where(n => n.Domain == AttentionFusion.MicrosoftDomain).Select(n => n.OpType).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        }
        catch (InvalidDataException)
        {
            return [];
        }
    }

    // The model as the session gets it: with attention fused (see AttentionFusion) when enabled and matched; on CUDA, with
    // its float16 inputs and outputs cast inside the graph when enabled (OnnxModelGraph.WriteWithFloatIo); else as given.
    // Not on CPU: there ONNX Runtime runs most float16 nodes in float32 behind casts it inserts, and then drops a boundary
    // cast pair with them, skipping the rounding to float16 the export (and diffusers) do; the host conversion keeps it.
    private byte[]? Prepare(string component, string modelPath, byte[]? modelBytes, bool cuda)
    {
        var castIo = cuda && _options.CastFloat16InGraph;
        if (_options.FuseAttention || castIo)
        {
            // The file as read is kept only while a rewrite needs it: ONNX Runtime loads an unchanged model from its path.
            var source = modelBytes ?? File.ReadAllBytes(modelPath);
            try
            {
                if (_options.FuseAttention &&
                    AttentionFusion.Fuse(source, modelPath, allowFloat16: cuda, out var count, out var attentions) is { } fused)
                {
                    LogAttentionFused(_logger, component, count, attentions, modelPath);
                    modelBytes = source = fused;
                }

                if (castIo && OnnxModelGraph.Parse(source, modelPath).WriteWithFloatIo(out var converted) is { } cast)
                {
                    LogFloat16Cast(_logger, component, converted, modelPath);
                    modelBytes = cast;
                }
            }
            catch (InvalidDataException e)
            {
                throw new DiffusionException($"{e.Message} ({component})", e);
            }
        }

        return modelBytes;
    }

    // A model given as bytes finds its external data through the folder of the file it came from.
    private static InferenceSession Open(string modelPath, byte[]? modelBytes, SessionOptions options)
    {
        if (modelBytes is null)
        {
            return new InferenceSession(modelPath, options);
        }

        if (Path.GetDirectoryName(Path.GetFullPath(modelPath)) is { } folder)
        {
            options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", folder);
        }

        return new InferenceSession(modelBytes, options);
    }

    /// <summary>Why CUDA was given up, or null if it was not asked for or works.</summary>
    public string? CudaFailure
    {
        get
        {
            lock (_gate)
            {
                return _cudaFailure;
            }
        }
    }

    private SessionOptions CreateSessionOptions(bool useCuda, bool cudaGraph = false)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = _options.GraphOptimizationLevel,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            EnableMemoryPattern = _options.EnableMemoryPattern,
            EnableCpuMemArena = _options.EnableCpuMemArena,
        };
        try
        {
            if (_options.IntraOpNumThreads > 0)
            {
                options.IntraOpNumThreads = _options.IntraOpNumThreads;
            }

            if (useCuda)
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(new Dictionary<string, string>(_options.CudaProviderOptions(cudaGraph)));
                options.AppendExecutionProvider_CUDA(cuda);
            }

            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug,
        Message = "{Component}: {Fused} of {Softmaxes} attention blocks fused into MultiHeadAttention ({ModelPath})")]
    private static partial void LogAttentionFused(ILogger logger, string component, int fused, int softmaxes, string modelPath);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug,
        Message = "{Component}: float16 {Tensors} bound as float32, cast inside the session ({ModelPath})")]
    private static partial void LogFloat16Cast(ILogger logger, string component, IReadOnlyList<string> tensors, string modelPath);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning,
        Message = "{Component}: ONNX Runtime cannot capture CUDA graphs of '{ModelPath}'; it runs on CUDA without them. Cause: {Reason}")]
    private static partial void LogCudaGraphRefused(ILogger logger, string component, string modelPath, string reason);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning,
        Message = "CUDA execution provider unusable on device {DeviceId}; running on CPU instead. Cause: {Reason}")]
    private static partial void LogCudaFallback(ILogger logger, int deviceId, string reason);
}
