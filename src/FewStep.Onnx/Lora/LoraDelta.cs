using System.Numerics;

namespace FewStep.Onnx.Lora;

/// <summary>
/// Adds f · (up · down) to a weight, laid out as the ONNX initializer holds it, as a rank-r sum of outer products:
/// each weight row gets Σₖ a[row, k] · b[k, :], then f times that added to it (the product first, then the scale,
/// then the sum, as diffusers fuses: W + s·α/r · (up @ down)). Cost: rows · cols · r multiply-adds, vectorized
/// along the row with <see cref="Vector{T}"/>, rows spread over cores for large weights.
/// </summary>
/// <remarks>
/// Hand-vectorized rather than r calls of TensorPrimitives.MultiplyAdd per row: those write a row-long sum back
/// r times; keeping the sum in a register measured 2–3 times faster on the real-size UNet (the merge is bound by
/// memory traffic, not arithmetic).
/// </remarks>
internal static class LoraDelta
{
    /// <summary>Below this many multiply-adds a weight is merged on the calling thread.</summary>
    private const long ParallelWork = 1L << 20;

    /// <param name="weight">The weight, row-major: [out, in·kh·kw] (Gemm transB=1, Conv) or [in, out] (MatMul, Gemm transB=0).</param>
    /// <param name="up">[out, r] (a conv's trailing 1 × 1 dropped).</param>
    /// <param name="down">[r, in·kh·kw] (a conv kernel flattened, as the weight's rows are).</param>
    public static void Apply(float[] weight, OnnxWeightLayout layout, int outFeatures, int inFlat, float[] up, float[] down, int rank, float factor)
    {
        // In both layouts: row i += factor · Σₖ a[i, k] · b[k, :].
        int rows, cols;
        float[] a, b;
        if (layout == OnnxWeightLayout.InOut)
        {
            // Wt[i, o] += f Σₖ down[k, i] · up[o, k]: a = downᵀ [in, r], b = upᵀ [r, out] (both small: r rows or columns).
            (rows, cols, a, b) = (inFlat, outFeatures, Transpose(down, rank, inFlat), Transpose(up, outFeatures, rank));
        }
        else
        {
            (rows, cols, a, b) = (outFeatures, inFlat, up, down);
        }

        var work = (long)rows * cols * rank;
        if (work < ParallelWork)
        {
            AddRows(weight, 0, rows, cols, a, b, rank, factor);
            return;
        }

        var blocks = Math.Min(rows, Environment.ProcessorCount * 4);
        var perBlock = (rows + blocks - 1) / blocks;
        Parallel.For(0, blocks, block =>
        {
            var start = block * perBlock;
            AddRows(weight, start, Math.Min(rows, start + perBlock), cols, a, b, rank, factor);
        });
    }

    private static void AddRows(float[] weight, int startRow, int endRow, int cols, float[] a, float[] b, int rank, float factor)
    {
        // Per vector of columns, the r products are summed in a register and the sum added once: r loads of b per
        // r multiply-adds, instead of a row-long sum buffer written back r times.
        var width = Vector<float>.Count;
        var vectorEnd = cols - (cols % width);
        for (var row = startRow; row < endRow; row++)
        {
            var target = weight.AsSpan(row * cols, cols); // row · cols < weight.Length, an int
            var coefficients = a.AsSpan(row * rank, rank);
            for (var j = 0; j < vectorEnd; j += width)
            {
                var sum = Vector<float>.Zero;
                for (var k = 0; k < coefficients.Length; k++)
                {
                    sum += new Vector<float>(b.AsSpan((k * cols) + j, width)) * coefficients[k];
                }

                (new Vector<float>(target.Slice(j, width)) + (sum * factor)).CopyTo(target.Slice(j, width));
            }

            for (var j = vectorEnd; j < cols; j++)
            {
                var sum = 0f;
                for (var k = 0; k < coefficients.Length; k++)
                {
                    sum += b[(k * cols) + j] * coefficients[k];
                }

                target[j] += sum * factor;
            }
        }
    }

    /// <summary>[rows, cols] to [cols, rows].</summary>
    private static float[] Transpose(float[] matrix, int rows, int cols)
    {
        var result = new float[matrix.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                result[(c * rows) + r] = matrix[(r * cols) + c];
            }
        }

        return result;
    }
}
