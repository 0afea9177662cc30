using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using FewStep.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FewStep.Onnx.Sessions;

/// <summary>Small inputs (token ids, timesteps) in whatever element type the export declares.</summary>
public static class OrtInputs
{
    /// <summary>Token ids as int32 or int64, as the text encoder's <c>input_ids</c> declares.</summary>
    public static OrtValue Ids(OnnxModelSession session, string name, int[] ids, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(session);
        var metadata = session.RequireInput(name);
        return metadata.ElementDataType switch
        {
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(ids, shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(ids, i => (long)i), shape),
            _ => throw Unsupported(session, name, metadata, "int32 or int64"),
        };
    }

    /// <summary>An attention mask of 0/1 values as int64, int32, float32 or bool, as the input declares.</summary>
    public static OrtValue Mask(OnnxModelSession session, string name, int[] mask, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(mask);
        var metadata = session.RequireInput(name);
        return metadata.ElementDataType switch
        {
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(mask, m => (long)m), shape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory((int[])mask.Clone(), shape),
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(mask, m => (float)m), shape),
            TensorElementType.Bool => OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(mask, m => m != 0), shape),
            _ => throw Unsupported(session, name, metadata, "int64, int32, float32 or bool"),
        };
    }

    /// <summary>
    /// A timestep: a scalar (rank 0) or a vector of <paramref name="count"/> copies (rank 1; a UNet broadcasts one
    /// over the batch), in the element type the export declares. Integer types truncate, as optimum's pipelines
    /// do when numpy casts the scheduler's float timestep.
    /// </summary>
    public static OrtValue Timestep(OnnxModelSession session, string name, double timestep, int count)
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
        count = shape.Length == 0 ? 1 : (int)shape[0];
        return metadata.ElementDataType switch
        {
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Filled(count, (long)timestep), shape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(Filled(count, (int)timestep), shape),
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Filled(count, (float)timestep), shape),
            TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(Filled(count, (Float16)(float)timestep), shape),
            TensorElementType.Double => OrtValue.CreateTensorValueFromMemory(Filled(count, timestep), shape),
            _ => throw Unsupported(session, name, metadata, "int64, int32, float32 or float16"),
        };
    }

    /// <summary>Copies a float32 ONNX Runtime output (float32 or float16) into a new float array.</summary>
    public static float[] ReadFloats(OnnxModelSession session, string name, OrtValue value)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(value);
        var info = value.GetTensorTypeAndShape();
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
                return value.GetTensorDataAsSpan<float>().ToArray();
            case TensorElementType.Float16:
                var halves = MemoryMarshal.Cast<Float16, Half>(value.GetTensorDataAsSpan<Float16>());
                var result = new float[halves.Length];
                TensorPrimitives.ConvertToSingle(halves, result);
                return result;
            default:
                throw new DiffusionException(
                    $"'{session.ModelPath}' output {name} has element type {info.ElementDataType}; FewStep reads float32 or float16.");
        }
    }

    private static T[] Filled<T>(int count, T value)
    {
        var values = new T[count];
        Array.Fill(values, value);
        return values;
    }

    private static DiffusionException Unsupported(OnnxModelSession session, string name, NodeMetadata metadata, string expected) =>
        new($"'{session.ModelPath}' input {name} has element type {metadata.ElementDataType}; FewStep supports {expected} there.");
}
