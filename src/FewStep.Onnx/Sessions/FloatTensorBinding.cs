using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using FewStep.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FewStep.Onnx.Sessions;

/// <summary>
/// A float32 tensor the pipeline owns (<see cref="Data"/>), bound once to one model input or output whose
/// element type is float32 or float16 (exports differ). The <see cref="Value"/> is created once and reused on
/// every step: float32 binds the array itself (no copy); float16 goes through a staging buffer allocated once.
/// </summary>
public sealed class FloatTensorBinding : IDisposable
{
    private readonly Float16[]? _staging;

    public FloatTensorBinding(OnnxModelSession session, string name, NodeMetadata metadata, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(metadata);
        Name = name;
        CheckShape(session, name, metadata, shape);
        Shape = shape.ToArray().Select(d => (long)d).ToArray();
        var length = 1;
        foreach (var d in shape)
        {
            length *= d;
        }

        Data = new float[length];
        switch (metadata.ElementDataType)
        {
            case TensorElementType.Float:
                Value = OrtValue.CreateTensorValueFromMemory(Data, Shape);
                break;
            case TensorElementType.Float16:
                _staging = new Float16[length];
                Value = OrtValue.CreateTensorValueFromMemory(_staging, Shape);
                break;
            default:
                throw new DiffusionException(
                    $"'{session.ModelPath}' {name} has element type {metadata.ElementDataType}; FewStep reads float32 or float16 there.");
        }
    }

    public string Name { get; }

    public float[] Data { get; }

    public long[] Shape { get; }

    /// <summary>The tensor ONNX Runtime reads or writes; valid until this binding is disposed.</summary>
    public OrtValue Value { get; }

    /// <summary>Before a run that reads this input: float16 converts <see cref="Data"/> into the staging buffer.</summary>
    public void Stage()
    {
        if (_staging is not null)
        {
            TensorPrimitives.ConvertToHalf(Data, MemoryMarshal.Cast<Float16, Half>(_staging.AsSpan()));
        }
    }

    /// <summary>After a run that wrote this output: float16 converts the staging buffer into <see cref="Data"/>.</summary>
    public void Complete()
    {
        if (_staging is not null)
        {
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(_staging.AsSpan()), Data);
        }
    }

    public void Dispose() => Value.Dispose();

    private static void CheckShape(OnnxModelSession session, string name, NodeMetadata metadata, ReadOnlySpan<int> shape)
    {
        var shown = string.Join(", ", shape.ToArray());
        if (metadata.Dimensions.Length != shape.Length)
        {
            throw new DiffusionException(
                $"'{session.ModelPath}' {name} has rank {metadata.Dimensions.Length}, but FewStep binds [{shown}] there.");
        }

        for (var i = 0; i < shape.Length; i++)
        {
            var declared = metadata.Dimensions[i];
            if (declared > 0 && declared != shape[i])
            {
                throw new DiffusionException(
                    $"'{session.ModelPath}' {name} has a fixed dimension {i} of {declared}, but this request needs [{shown}]: " +
                    "the components do not fit together, or the export allows only another size or batch.");
            }
        }
    }
}
