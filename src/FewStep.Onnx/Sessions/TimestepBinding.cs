using FewStep.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FewStep.Onnx.Sessions;

/// <summary>
/// A denoiser's timestep input, allocated and bound once per generation: a scalar (rank 0) or a vector of
/// <c>count</c> copies (rank 1; a UNet broadcasts one over the batch), in the element type the export declares.
/// Each step writes its value in place (<see cref="Set"/>), so no tensor is created or bound per step. Integer
/// types truncate, as optimum's pipelines do when numpy casts the scheduler's float timestep.
/// </summary>
public sealed class TimestepBinding : IDisposable
{
    private readonly Action<double> _set;

    public TimestepBinding(OnnxModelSession session, string name, int count)
    {
        ArgumentNullException.ThrowIfNull(session);
        var metadata = session.RequireInput(name);
        long[] shape = metadata.Dimensions.Length switch
        {
            0 => [],
            1 => [metadata.Dimensions[0] > 0 ? metadata.Dimensions[0] : count],
            _ => throw new DiffusionException(
                $"'{session.ModelPath}' {name} has rank {metadata.Dimensions.Length}; a timestep is a scalar or a vector."),
        };
        var length = shape.Length == 0 ? 1 : (int)shape[0];
        (Value, _set) = metadata.ElementDataType switch
        {
            TensorElementType.Int64 => Bind(new long[length], shape, t => (long)t),
            TensorElementType.Int32 => Bind(new int[length], shape, t => (int)t),
            TensorElementType.Float => Bind(new float[length], shape, t => (float)t),
            TensorElementType.Float16 => Bind(new Float16[length], shape, t => (Float16)(float)t),
            TensorElementType.Double => Bind(new double[length], shape, t => t),
            _ => throw OrtInputs.Unsupported(session, name, metadata, "int64, int32, float32 or float16"),
        };
    }

    /// <summary>The tensor to bind; its values change with each <see cref="Set"/>.</summary>
    public OrtValue Value { get; }

    public void Set(double timestep) => _set(timestep);

    public void Dispose() => Value.Dispose();

    private static (OrtValue, Action<double>) Bind<T>(T[] values, long[] shape, Func<double, T> convert)
        where T : unmanaged =>
        (OrtValue.CreateTensorValueFromMemory(values, shape), t => Array.Fill(values, convert(t)));
}
