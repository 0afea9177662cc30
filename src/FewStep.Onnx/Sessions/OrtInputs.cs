using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using FewStep.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FewStep.Onnx.Sessions;

/// <summary>Small inputs (token ids, masks) in whatever element type the export declares; timesteps: <see cref="TimestepBinding"/>.</summary>
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

    internal static DiffusionException Unsupported(OnnxModelSession session, string name, NodeMetadata metadata, string expected) =>
        new($"'{session.ModelPath}' input {name} has element type {metadata.ElementDataType}; FewStep supports {expected} there.");
}
