using FewStep.Diffusion;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
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
                using var cudaOptions = CreateSessionOptions(useCuda: true);
                configure?.Invoke(cudaOptions);
                return new OnnxModelSession(component, modelPath, Open(modelPath, modelBytes, cudaOptions), ExecutionProviderKind.Cuda);
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
            return new OnnxModelSession(component, modelPath, Open(modelPath, modelBytes, cpuOptions), ExecutionProviderKind.Cpu);
        }
        catch (OnnxRuntimeException e)
        {
            throw new DiffusionException($"ONNX Runtime cannot load '{modelPath}' ({component}): {e.Message}", e);
        }
    }

    private static InferenceSession Open(string modelPath, byte[]? modelBytes, SessionOptions options) =>
        modelBytes is null ? new InferenceSession(modelPath, options) : new InferenceSession(modelBytes, options);

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

    private SessionOptions CreateSessionOptions(bool useCuda)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = _options.GraphOptimizationLevel,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        try
        {
            if (_options.IntraOpNumThreads > 0)
            {
                options.IntraOpNumThreads = _options.IntraOpNumThreads;
            }

            if (useCuda)
            {
                options.AppendExecutionProvider_CUDA(_options.DeviceId);
            }

            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning,
        Message = "CUDA execution provider unusable on device {DeviceId}; running on CPU instead. Cause: {Reason}")]
    private static partial void LogCudaFallback(ILogger logger, int deviceId, string reason);
}
