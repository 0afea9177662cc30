using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FewStep.Onnx.Lora;

/// <summary>
/// One merged weight in its initializer's element type, in an array on the pinned object heap (it never moves, so
/// ONNX Runtime can read it in place for as long as a session uses it), with an <see cref="OrtValue"/> over it.
/// </summary>
internal sealed class MergedInitializer : IDisposable
{
    private readonly Array _buffer;

    private MergedInitializer(OnnxWeightLayer layer, Array buffer, long bytes)
    {
        Name = layer.InitializerName;
        ElementType = layer.ElementType;
        Shape = [.. layer.Dims];
        Storage = layer.Storage;
        _buffer = buffer;
        Bytes = bytes;
        Address = Marshal.UnsafeAddrOfPinnedArrayElement(buffer, 0);
        Value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, ElementType, Shape, Address, bytes);
    }

    public string Name { get; }

    public TensorElementType ElementType { get; }

    public long[] Shape { get; }

    /// <summary>Where the model keeps the base weight.</summary>
    public OnnxTensorStorage Storage { get; }

    /// <summary>The model keeps the base weight in an external file (it can then be replaced before optimization).</summary>
    public bool IsExternal => Storage.Kind == OnnxTensorStorageKind.External;

    public long Bytes { get; }

    public IntPtr Address { get; }

    public OrtValue Value { get; }

    /// <summary>Takes a float32 merged weight: kept as is for a float32 initializer, rounded into a new buffer otherwise.</summary>
    /// <param name="merged">Must come from <see cref="AllocateWorkingBuffer"/> (pinned when the weight is float32).</param>
    public static MergedInitializer Create(OnnxWeightLayer layer, float[] merged)
    {
        if (layer.ElementType == TensorElementType.Float)
        {
            return new MergedInitializer(layer, merged, (long)merged.Length * sizeof(float));
        }

        var narrow = GC.AllocateUninitializedArray<ushort>(merged.Length, pinned: true);
        OnnxWeightData.Narrow(layer.ElementType, merged, narrow);
        return new MergedInitializer(layer, narrow, (long)narrow.Length * sizeof(ushort));
    }

    /// <summary>A float32 buffer for the weight: pinned when it will itself be the merged float32 weight.</summary>
    public static float[] AllocateWorkingBuffer(OnnxWeightLayer layer) =>
        GC.AllocateUninitializedArray<float>(checked((int)layer.ElementCount), pinned: layer.ElementType == TensorElementType.Float);

    /// <summary>The merged values widened to float32 (a copy; for checks and diagnostics).</summary>
    public float[] ToFloat()
    {
        if (_buffer is float[] values)
        {
            return (float[])values.Clone();
        }

        var result = new float[_buffer.Length];
        OnnxWeightData.Widen(ElementType, (ushort[])_buffer, result);
        return result;
    }

    /// <summary>The merged values as stored (little-endian element bytes), to patch a model image with.</summary>
    public ReadOnlySpan<byte> AsBytes() => _buffer is float[] values
        ? MemoryMarshal.AsBytes(values.AsSpan())
        : MemoryMarshal.AsBytes(((ushort[])_buffer).AsSpan());

    public void Dispose() => Value.Dispose();
}
