using System.Runtime.InteropServices;
using FewStep.Diffusion;

namespace FewStep.Onnx.Sessions;

/// <summary>
/// The two CUDA runtime calls the ONNX Runtime C# API lacks for the built-in CUDA provider: copies between host
/// and device memory (<c>OrtEnv.CopyTensors</c> needs a plugin execution provider's data transfer). libcudart is
/// loaded by ONNX Runtime's CUDA provider whenever a CUDA session exists, so it is on the library path here.
/// <c>cudaMemcpy</c> from pageable memory returns when the copy is done, and a session's run synchronises its
/// stream before it returns, so neither copy can overlap a run.
/// </summary>
internal static class CudaRuntime
{
    private const int HostToDevice = 1;
    private const int DeviceToHost = 2;

    /// <summary>Copies <paramref name="host"/> into <paramref name="device"/>, a span over device memory (never read here).</summary>
    public static void CopyToDevice(int deviceId, Span<byte> device, ReadOnlySpan<byte> host, string model) =>
        Copy(deviceId, ref MemoryMarshal.GetReference(device), in MemoryMarshal.GetReference(host), Length(device, host, model), HostToDevice, model);

    /// <summary>Copies <paramref name="device"/>, a span over device memory (never read here), into <paramref name="host"/>.</summary>
    public static void CopyToHost(int deviceId, Span<byte> host, ReadOnlySpan<byte> device, string model) =>
        Copy(deviceId, ref MemoryMarshal.GetReference(host), in MemoryMarshal.GetReference(device), Length(host, device, model), DeviceToHost, model);

    private static int Length(Span<byte> destination, ReadOnlySpan<byte> source, string model) => destination.Length == source.Length
        ? source.Length
        : throw new DiffusionException($"A copy of {source.Length} bytes into {destination.Length} while binding the tensors of '{model}'.");

    private static void Copy(int deviceId, ref byte destination, in byte source, int bytes, int kind, string model)
    {
        try
        {
            Check(cudaSetDevice(deviceId), "cudaSetDevice", model);
            Check(cudaMemcpy(ref destination, in source, (nuint)bytes, kind), "cudaMemcpy", model);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw NotLoadable(deviceId, model, e);
        }
    }

    private static DiffusionException NotLoadable(int deviceId, string model, Exception e) =>
        new($"Cannot copy the tensors of '{model}' to or from CUDA device {deviceId}: libcudart.so.13 is not loadable ({e.Message}).", e);

    private static void Check(int error, string call, string model)
    {
        if (error != 0)
        {
            throw new DiffusionException($"{call} failed with CUDA error {error} while copying the tensors of '{model}'.");
        }
    }

    [DllImport("libcudart.so.13", ExactSpelling = true)]
    private static extern int cudaSetDevice(int device);

    // Pointers as references: the marshaller passes their addresses, device ones included, and nothing here reads them.
    [DllImport("libcudart.so.13", ExactSpelling = true)]
    private static extern int cudaMemcpy(ref byte destination, in byte source, nuint count, int kind);
}
