using System.Runtime.InteropServices;
using FewStep.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Sessions;

/// <summary>
/// The inputs and outputs of one generation's calls to a session, bound once with <see cref="OrtIoBinding"/>.
/// On CUDA the constant conditioning (encoder states, pooled embeddings, time ids, masks) is copied to device memory
/// once per generation and stays there for the whole denoising loop. The per-step sample and the output stay bound
/// as host tensors, so ONNX Runtime copies the sample to the device and the output back once per step: two copies
/// of the latents (at 512² and batch 4, 256 KB each way), against which moving the scheduler step onto the device
/// would save nothing worth a kernel. On CPU every tensor is the pipeline's own memory and nothing is copied.
/// </summary>
internal sealed class DeviceBinding : IDisposable
{
    private readonly OnnxModelSession _session;
    private readonly OrtIoBinding _binding;
    private readonly List<IDisposable> _owned = [];

    public DeviceBinding(OnnxModelSession session)
    {
        _session = session;
        _binding = session.CreateIoBinding();
    }

    /// <summary>Whether constants live in device memory (CUDA) rather than in the pipeline's arrays (CPU).</summary>
    public bool OnDevice => _session.Provider == ExecutionProviderKind.Cuda;

    /// <summary>Binds a value that does not change during the generation; on CUDA, a device copy of it.</summary>
    public void BindConstant(string name, OrtValue host)
    {
        if (!OnDevice)
        {
            _binding.BindInput(name, host);
            return;
        }

        var info = host.GetTensorTypeAndShape();
        var bytes = host.GetTensorMutableRawData().ToArray();
        var allocation = _session.DeviceAllocator().Allocate((uint)bytes.Length);
        _owned.Add(allocation);
        // The allocation is a SafeHandle over the device pointer (its Pointer property is not public).
        CudaRuntime.CopyToDevice(_session.DeviceId, allocation.DangerousGetHandle(), bytes, _session.ModelPath);
        _binding.BindInput(name, info.ElementDataType, info.Shape, allocation);
    }

    /// <summary>Binds a host tensor the pipeline rewrites between runs (the sample, the timestep).</summary>
    public void BindInput(string name, OrtValue host) => _binding.BindInput(name, host);

    /// <summary>Binds a host tensor ONNX Runtime writes the output into.</summary>
    public void BindOutput(string name, OrtValue host) => _binding.BindOutput(name, host);

    public void Run(OnnxRunClock? clock, CancellationToken cancellationToken) => _session.Run(_binding, clock, cancellationToken);

    public void Dispose()
    {
        _binding.Dispose();
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }
}

/// <summary>
/// The one CUDA runtime call the ONNX Runtime C# API lacks for the built-in CUDA provider: a host-to-device copy
/// (<c>OrtEnv.CopyTensors</c> needs a plugin execution provider's data transfer). libcudart is loaded by ONNX
/// Runtime's CUDA provider whenever a CUDA session exists, so it is on the library path here.
/// </summary>
internal static class CudaRuntime
{
    private const int HostToDevice = 1;

    public static void CopyToDevice(int deviceId, IntPtr destination, byte[] source, string model)
    {
        var handle = GCHandle.Alloc(source, GCHandleType.Pinned);
        try
        {
            Check(cudaSetDevice(deviceId), "cudaSetDevice", model);
            Check(cudaMemcpy(destination, handle.AddrOfPinnedObject(), (nuint)source.Length, HostToDevice), "cudaMemcpy", model);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new DiffusionException($"Cannot copy '{model}' inputs to CUDA device {deviceId}: libcudart.so.13 is not loadable ({e.Message}).", e);
        }
        finally
        {
            handle.Free();
        }
    }

    private static void Check(int error, string call, string model)
    {
        if (error != 0)
        {
            throw new DiffusionException($"{call} failed with CUDA error {error} while binding the inputs of '{model}'.");
        }
    }

    [DllImport("libcudart.so.13", ExactSpelling = true)]
    private static extern int cudaSetDevice(int device);

    [DllImport("libcudart.so.13", ExactSpelling = true)]
    private static extern int cudaMemcpy(IntPtr destination, IntPtr source, nuint count, int kind);
}
