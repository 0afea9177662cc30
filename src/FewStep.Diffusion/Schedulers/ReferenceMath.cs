namespace FewStep.Diffusion.Schedulers;

/// <summary>
/// The few numpy and torch (1.13, CPU) primitives the schedulers are built from, reproduced with their rounding,
/// so that schedules match the reference to the last float32 bit.
/// </summary>
internal static class ReferenceMath
{
    /// <summary>
    /// <c>torch.linspace(start, end, steps, dtype=torch.float32)</c> on CPU. torch 1.13's kernel fills the first half
    /// from <c>start</c> and the second half from <c>end</c>, in vectors of 8 (AVX2) whose lanes are
    /// <c>base + k * step</c>, and a scalar tail; the step is held in double. This reproduces the recorded
    /// <c>scaled_linear</c> sigmas bit for bit (a plain float32 <c>start + i * step</c> is off by up to 3 ulp).
    /// </summary>
    public static float[] TorchLinspaceFloat32(double start, double end, int steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var result = new float[steps];
        if (steps == 0)
        {
            return result;
        }

        float startF = (float)start;
        float endF = (float)end;
        if (steps == 1)
        {
            result[0] = startF;
            return result;
        }

        const int VectorWidth = 8;
        double step = ((double)endF - startF) / (steps - 1);
        int halfway = steps / 2;
        float Scalar(int idx) => idx < halfway
            ? (float)(startF + (step * idx))
            : (float)(endF - (step * (steps - idx - 1)));

        int i = 0;
        for (; i <= steps - (2 * VectorWidth); i += 2 * VectorWidth)
        {
            for (int v = i; v < i + (2 * VectorWidth); v += VectorWidth)
            {
                float vectorBase = Scalar(v);
                for (int lane = 0; lane < VectorWidth; lane++)
                {
                    result[v + lane] = (float)(vectorBase + (lane * step));
                }
            }
        }

        for (; i < steps; i++)
        {
            result[i] = Scalar(i);
        }

        return result;
    }

    /// <summary><c>torch.cumprod</c> of a float32 tensor on CPU: accumulates in double, stores float32.</summary>
    public static float[] TorchCumprodFloat32(ReadOnlySpan<float> values)
    {
        var result = new float[values.Length];
        double acc = 1.0;
        for (int i = 0; i < values.Length; i++)
        {
            acc *= values[i];
            result[i] = (float)acc;
        }

        return result;
    }

    /// <summary><c>np.linspace(start, stop, num, endpoint)</c> in float64, with numpy's formula <c>i * step + start</c>.</summary>
    public static double[] NumpyLinspace(double start, double stop, int num, bool endpoint = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(num);
        var y = new double[num];
        int div = endpoint ? num - 1 : num;
        double delta = stop - start;
        if (div > 0)
        {
            double step = delta / div;
            for (int i = 0; i < num; i++)
            {
                y[i] = step == 0 ? (i / (double)div * delta) + start : (i * step) + start;
            }
        }
        else
        {
            for (int i = 0; i < num; i++)
            {
                y[i] = (i * delta) + start;
            }
        }

        if (endpoint && num > 1)
        {
            y[^1] = stop;
        }

        return y;
    }

    /// <summary>
    /// <c>np.arange(start, stop, step)</c> in float64: length <c>ceil((stop - start) / step)</c>, values
    /// <c>start + i * delta</c> with <c>delta = (start + step) - start</c>, as numpy fills them.
    /// </summary>
    public static double[] NumpyArange(double start, double stop, double step)
    {
        double length = Math.Ceiling((stop - start) / step);
        int n = length > 0 ? checked((int)length) : 0;
        var y = new double[n];
        if (n == 0)
        {
            return y;
        }

        y[0] = start;
        if (n > 1)
        {
            y[1] = start + step;
            double delta = y[1] - start;
            for (int i = 2; i < n; i++)
            {
                y[i] = start + (i * delta);
            }
        }

        return y;
    }

    /// <summary><c>np.interp(x, np.arange(len(fp)), fp)</c> in float64 (numpy's <c>arr_interp</c>).</summary>
    public static double NumpyInterp(double x, ReadOnlySpan<float> fp)
    {
        int last = fp.Length - 1;
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        if (x < 0)
        {
            return fp[0];
        }

        if (x >= last)
        {
            return fp[last];
        }

        int j = (int)Math.Floor(x);
        if (x == j)
        {
            return fp[j];
        }

        double slope = (double)fp[j + 1] - fp[j]; // (fp[j+1] - fp[j]) / (xp[j+1] - xp[j]), xp = 0, 1, 2...
        double result = (slope * (x - j)) + fp[j];
        if (double.IsNaN(result))
        {
            result = (slope * (x - (j + 1))) + fp[j + 1];
            if (double.IsNaN(result) && fp[j] == fp[j + 1])
            {
                result = fp[j];
            }
        }

        return result;
    }

    /// <summary>Python's <c>round</c> / <c>np.round</c>: half to even.</summary>
    public static double RoundHalfEven(double x) => Math.Round(x, MidpointRounding.ToEven);
}
