using System.Buffers.Binary;
using FewStep.RealSize;

namespace FewStep.Onnx.Tests.RealSize;

/// <summary>Reads tensors back out of a filled data file, as the fill wrote them (float32 little-endian).</summary>
internal static class DataFileReader
{
    public static byte[] Bytes(string path, long offset, long length)
    {
        using var handle = File.OpenHandle(path);
        var bytes = new byte[length];
        var read = RandomAccess.Read(handle, bytes, offset);
        Assert.Equal(length, read);
        return bytes;
    }

    public static float[] Floats(string path, FillTensor tensor)
    {
        var bytes = Bytes(path, tensor.Offset, tensor.Length);
        var values = new float[tensor.ElementCount];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        }

        return values;
    }

    /// <summary>The sample mean and standard deviation, in double so that millions of values sum without drift.</summary>
    public static (double Mean, double Std) Moments(float[] values)
    {
        var mean = values.Average(v => (double)v);
        var variance = values.Sum(v => (v - mean) * (v - mean)) / values.Length;
        return (mean, Math.Sqrt(variance));
    }

    /// <summary>
    /// Asserts that a tensor looks like N(mean, std): sample moments within 6 standard errors (about 1 in 10^9 to
    /// fail by chance), every value finite, and the tails Gaussian (about 0.27% beyond 3σ).
    /// </summary>
    public static void AssertGaussian(float[] values, FillTensor tensor)
    {
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
        var (mean, std) = Moments(values);
        var n = values.Length;
        Assert.InRange(mean, tensor.Mean - (6 * tensor.Std / Math.Sqrt(n)) - 1e-6, tensor.Mean + (6 * tensor.Std / Math.Sqrt(n)) + 1e-6);
        Assert.InRange(std, tensor.Std * (1 - (6 / Math.Sqrt(2.0 * n))), tensor.Std * (1 + (6 / Math.Sqrt(2.0 * n))));
        var beyond = values.Count(v => Math.Abs(v - tensor.Mean) > 3 * tensor.Std) / (double)n;
        Assert.InRange(beyond, 0.0027 - (6 * Math.Sqrt(0.0027 / n)), 0.0027 + (6 * Math.Sqrt(0.0027 / n)));
    }
}
