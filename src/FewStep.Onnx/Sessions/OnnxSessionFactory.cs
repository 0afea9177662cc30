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

    public OnnxModelSession Create(string component, string modelPath)
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
                return new OnnxModelSession(component, modelPath, new InferenceSession(modelPath, cudaOptions), ExecutionProviderKind.Cuda);
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
        try
        {
            return new OnnxModelSession(component, modelPath, new InferenceSession(modelPath, cpuOptions), ExecutionProviderKind.Cpu);
        }
        catch (OnnxRuntimeException e)
        {
            throw new DiffusionException($"ONNX Runtime cannot load '{modelPath}' ({component}): {e.Message}", e);
        }
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
