using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Sessions;

/// <summary>
/// A tensor in the memory a session runs in, allocated by ONNX Runtime: device memory on CUDA, its CPU allocator's
/// on CPU. Filled from and read back into host tensors of the same type and shape.
/// </summary>
internal sealed class DeviceTensor : IDisposable
{
    private readonly OnnxModelSession _session;

    public DeviceTensor(OnnxModelSession session, OrtValue like)
    {
        _session = session;
        var info = like.GetTensorTypeAndShape();
        Value = OrtValue.CreateAllocatedTensorValue(session.Allocator(), info.ElementDataType, info.Shape);
    }

    /// <summary>The tensor to bind; its address stays the same for its whole life.</summary>
    public OrtValue Value { get; }

    public void Upload(OrtValue host)
    {
        if (_session.Provider == ExecutionProviderKind.Cuda)
        {
            CudaRuntime.CopyToDevice(_session.DeviceId, Value.GetTensorMutableRawData(), host.GetTensorMutableRawData(), _session.ModelPath);
        }
        else
        {
            host.GetTensorMutableRawData().CopyTo(Value.GetTensorMutableRawData());
        }
    }

    public void Download(OrtValue host)
    {
        if (_session.Provider == ExecutionProviderKind.Cuda)
        {
            CudaRuntime.CopyToHost(_session.DeviceId, host.GetTensorMutableRawData(), Value.GetTensorMutableRawData(), _session.ModelPath);
        }
        else
        {
            Value.GetTensorMutableRawData().CopyTo(host.GetTensorMutableRawData());
        }
    }

    public void Dispose() => Value.Dispose();
}
