using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text;

namespace FewStep.RealSize;

/// <summary>
/// Draws a tensor's values from N(mean, std) in fixed-size blocks. Every block has its own stream, seeded by
/// (seed, tensor name, block index), so a tensor's values do not depend on the other tensors, on their order, or on
/// how many threads fill the file; the Box-Muller transform runs over whole blocks with TensorPrimitives' vectorized
/// Log, Sqrt and SinCos, which is what keeps 5 GB to seconds rather than minutes.
/// </summary>
/// <remarks>
/// Bits are identical for the same seed on the same kind of machine; TensorPrimitives may pick other kernels on
/// other instruction sets, which can change last bits (the values stay N(mean, std)). The stamp names the
/// generator so that a change of algorithm here invalidates old fills.
/// </remarks>
internal static class GaussianBlocks
{
    /// <summary>Recorded in the stamp: change it whenever the values for a (seed, name) would change.</summary>
    public const string Generator = "xoshiro256**/box-muller/block-1Mi/v1";

    /// <summary>4 MiB of float32 per block: large sequential writes, and enough work per block to amortise setup.</summary>
    public const int BlockElements = 1 << 20;

    private const float TwoToMinus24 = 1f / (1 << 24);

    /// <summary>A 64-bit key for a tensor: SplitMix64 over the seed and the FNV-1a hash of the name's UTF-8 bytes.</summary>
    public static ulong TensorKey(ulong seed, string name)
    {
        var hash = 0xCBF29CE484222325UL;
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash ^ b) * 0x100000001B3UL;
        }

        return SplitMix64.Mix(seed ^ SplitMix64.Mix(hash));
    }

    public static long BlockCount(long elements) => (elements + BlockElements - 1) / BlockElements;

    /// <summary>
    /// Writes block <paramref name="blockIndex"/> of a tensor into <paramref name="destination"/> (at most
    /// <see cref="BlockElements"/> values; the tensor's last block may be shorter) as float32.
    /// </summary>
    public static void Fill(ulong tensorKey, long blockIndex, double mean, double std, Span<float> destination, Scratch scratch)
    {
        var count = destination.Length;
        var pairs = (count + 1) / 2;
        var rng = new Xoshiro256StarStar(tensorKey ^ SplitMix64.Mix((ulong)blockIndex + 1));
        var radius = scratch.Radius.AsSpan(0, pairs);
        var angle = scratch.Angle.AsSpan(0, pairs);
        for (var i = 0; i < pairs; i++)
        {
            // One 64-bit draw gives both uniforms, 24 bits each (a float's mantissa). u1 is in (0, 1] so Log never
            // sees 0; u2 is in [0, 1).
            var bits = rng.Next();
            radius[i] = ((uint)(bits >> 40) + 1) * TwoToMinus24;
            angle[i] = ((uint)(bits >> 8) & 0xFFFFFF) * TwoToMinus24;
        }

        // Box-Muller: r = sqrt(-2 ln u1), θ = 2π u2; r cos θ and r sin θ are independent N(0, 1).
        TensorPrimitives.Log(radius, radius);
        TensorPrimitives.Multiply(radius, -2f, radius);
        TensorPrimitives.Sqrt(radius, radius);
        TensorPrimitives.Multiply(radius, (float)std, radius);
        TensorPrimitives.Multiply(angle, 2f * MathF.PI, angle);
        var sin = scratch.Sin.AsSpan(0, pairs);
        var cos = scratch.Cos.AsSpan(0, pairs);
        TensorPrimitives.SinCos(angle, sin, cos);

        // The first half of the block takes the cosines, the second the sines: no interleaving pass needed.
        var first = destination[..pairs];
        var second = destination[pairs..];
        TensorPrimitives.MultiplyAdd(radius, cos, (float)mean, first);
        TensorPrimitives.MultiplyAdd(radius[..second.Length], sin[..second.Length], (float)mean, second);
    }

    /// <summary>The block's values as the file stores them: float32 little-endian.</summary>
    public static ReadOnlySpan<byte> AsLittleEndianBytes(Span<float> values)
    {
        if (!BitConverter.IsLittleEndian)
        {
            var raw = MemoryMarshal.Cast<float, int>(values);
            BinaryPrimitives.ReverseEndianness(raw, raw);
        }

        return MemoryMarshal.AsBytes(values);
    }

    /// <summary>Per-thread working buffers for <see cref="Fill"/>.</summary>
    internal sealed class Scratch
    {
        public float[] Radius { get; } = new float[BlockElements / 2];

        public float[] Angle { get; } = new float[BlockElements / 2];

        public float[] Sin { get; } = new float[BlockElements / 2];

        public float[] Cos { get; } = new float[BlockElements / 2];

        public float[] Values { get; } = new float[BlockElements];
    }
}
