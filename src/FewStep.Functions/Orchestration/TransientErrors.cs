using Azure;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Functions.Orchestration;

/// <summary>Which exceptions are worth a retry: they pass, or another worker succeeds, after a while.</summary>
internal static class TransientErrors
{
    public static bool IsTransient(Exception exception) => exception switch
    {
        RequestFailedException storage => storage.Status is 0 or 408 or 429 or >= 500,
        HttpRequestException http => http.StatusCode is null or System.Net.HttpStatusCode.RequestTimeout or System.Net.HttpStatusCode.TooManyRequests
            || (int)http.StatusCode >= 500,
        TimeoutException or IOException => true,
        TaskCanceledException canceled => canceled.InnerException is TimeoutException,
        OnnxRuntimeException onnx => IsOutOfMemory(onnx.Message),
        _ => false,
    };

    // ONNX Runtime reports allocation failures (CUDA or CPU arena) only through its message.
    private static bool IsOutOfMemory(string message) =>
        message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
        || message.Contains("Failed to allocate memory", StringComparison.OrdinalIgnoreCase)
        || message.Contains("CUDNN_STATUS_ALLOC_FAILED", StringComparison.Ordinal)
        || message.Contains("CUBLAS_STATUS_ALLOC_FAILED", StringComparison.Ordinal);
}
