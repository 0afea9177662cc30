using System.Numerics.Tensors;

namespace FewStep.Diffusion.Tensors;

/// <summary>Element-wise latent operations of the pipelines, on flat row-major float32 tensors.</summary>
public static class LatentMath
{
    /// <summary>Classifier-free guidance: <c>uncond + g · (cond − uncond)</c>, in diffusers' operation order.</summary>
    public static void CombineGuidance(ReadOnlySpan<float> uncond, ReadOnlySpan<float> cond, float guidanceScale, Span<float> destination)
    {
        TensorPrimitives.Subtract(cond, uncond, destination);
        TensorPrimitives.Multiply(destination, guidanceScale, destination);
        TensorPrimitives.Add(uncond, destination, destination);
    }

    /// <summary>
    /// Repeats each of <paramref name="source"/>'s rows <paramref name="times"/> times in place order
    /// (r0, r0, r1, r1, ...), as diffusers repeats prompt embeddings for <c>num_images_per_prompt</c>.
    /// </summary>
    public static float[] RepeatRows(ReadOnlySpan<float> source, int rows, int times)
    {
        var rowLength = source.Length / rows;
        var result = new float[source.Length * times];
        for (var r = 0; r < rows; r++)
        {
            var row = source.Slice(r * rowLength, rowLength);
            for (var t = 0; t < times; t++)
            {
                row.CopyTo(result.AsSpan(((r * times) + t) * rowLength, rowLength));
            }
        }

        return result;
    }

    /// <summary>Concatenates tensors along the batch axis (the first), e.g. [negative; positive].</summary>
    public static float[] ConcatRows(params ReadOnlySpan<float[]> parts)
    {
        var total = 0;
        foreach (var part in parts)
        {
            total += part.Length;
        }

        var result = new float[total];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }

        return result;
    }

    /// <summary>
    /// Concatenates two [rows, seq, a] and [rows, seq, b] tensors on the last axis into [rows, seq, a + b]
    /// (SDXL joins its two encoders' hidden states this way).
    /// </summary>
    public static float[] ConcatLastAxis(float[] left, int leftWidth, float[] right, int rightWidth)
    {
        var positions = left.Length / leftWidth;
        var width = leftWidth + rightWidth;
        var result = new float[positions * width];
        for (var p = 0; p < positions; p++)
        {
            left.AsSpan(p * leftWidth, leftWidth).CopyTo(result.AsSpan(p * width));
            right.AsSpan(p * rightWidth, rightWidth).CopyTo(result.AsSpan((p * width) + leftWidth));
        }

        return result;
    }

    /// <summary>The index of the first NaN or infinity, or -1 when every value is finite.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
