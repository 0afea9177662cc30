using System.Runtime.Intrinsics;

namespace FewStep.Diffusion.Noise;

/// <summary>
/// <c>torch.Generator("cpu").manual_seed(seed)</c> and <c>torch.randn(shape, generator=g, dtype=torch.float32)</c>,
/// bit for bit: MT19937 seeded with the seed modulo 2^32, 24-bit float uniforms for tensors of 16 or more elements
/// (Box–Muller in blocks of 16 with the chosen kernel), 53-bit double uniforms and a cached second normal for
/// smaller ones. The algorithm is written out in the conformance corpus' README ("Seeded cases and torch's CPU
/// generator"); the comments below follow its steps.
/// </summary>
public sealed class TorchCpuGenerator
{
    private const float FloatUnit = 1f / (1 << 24);
    private const double DoubleUnit = 1.0 / (1L << 53);
    private const int Block = 16;

    private readonly Mt19937 _engine;
    private double? _cachedNormal;

    public TorchCpuGenerator(ulong seed, TorchNormalKernel kernel = TorchNormalKernel.Avx2)
    {
        Kernel = kernel;
        _engine = new Mt19937(unchecked((uint)seed));
    }

    public TorchNormalKernel Kernel { get; }

    /// <summary>Whether this CPU runs the AVX2 kernel's blocks of 16 as one 8-lane vector operation each (else lane by lane, same bits).</summary>
    public static bool Avx2BlocksVectorised => TorchNormalAvx2.VectorAvailable;

    /// <summary>Engine outputs used since the seed (torch's bookkeeping: what a draw consumed).</summary>
    public long OutputsConsumed => _engine.Consumed;

    /// <summary>Whether a cached normal waits for the next small draw.</summary>
    public bool HasCachedNormal => _cachedNormal is not null;

    /// <summary>Re-seeds; only <c>seed mod 2^32</c> matters, and the cached normal is cleared.</summary>
    public void ManualSeed(ulong seed)
    {
        _engine.Seed(unchecked((uint)seed));
        _cachedNormal = null;
    }

    /// <summary>A float uniform in [0, 1): the low 24 bits of one output.</summary>
    public float NextFloat() => (_engine.Next() & 0xFFFFFF) * FloatUnit;

    /// <summary>A double uniform in [0, 1): 53 bits of two outputs.</summary>
    public double NextDouble()
    {
        var high = (ulong)_engine.Next();
        var low = _engine.Next();
        return (((high << 32) | low) & ((1UL << 53) - 1)) * DoubleUnit;
    }

    /// <summary>Fills <paramref name="destination"/> (one tensor, C order) as <c>torch.randn</c> would.</summary>
    public void Randn(Span<float> destination)
    {
        var n = destination.Length;
        if (n < Block)
        {
            RandnSmall(destination);
            return;
        }

        // 1. n float uniforms; 2. every full block of 16 transformed in place.
        FillFloats(destination);
        for (var start = 0; start + Block <= n; start += Block)
        {
            Transform(destination.Slice(start, Block));
        }

        // 3. A ragged end: 16 fresh uniforms over the last 16 elements, transformed again.
        if (n % Block != 0)
        {
            var tail = destination[(n - Block)..];
            for (var i = 0; i < Block; i++)
            {
                tail[i] = NextFloat();
            }

            Transform(tail);
        }
    }

    // Many NextFloat calls at once: the engine's outputs in bulk, the 24-bit conversion 8 at a time (exact).
    private void FillFloats(Span<float> destination)
    {
        var raw = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(destination);
        _engine.Fill(raw);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var mask = Vector256.Create(0xFFFFFFu);
            var unit = Vector256.Create(FloatUnit);
            for (; i + 8 <= raw.Length; i += 8)
            {
                var bits = Vector256.Create((ReadOnlySpan<uint>)raw.Slice(i, 8)) & mask;
                (Vector256.ConvertToSingle(bits.AsInt32()) * unit).CopyTo(destination.Slice(i, 8));
            }
        }

        for (; i < raw.Length; i++)
        {
            destination[i] = (raw[i] & 0xFFFFFF) * FloatUnit;
        }
    }

    private void Transform(Span<float> block)
    {
        if (Kernel == TorchNormalKernel.Avx2)
        {
            TorchNormalAvx2.TransformBlock(block);
        }
        else
        {
            TorchNormalDefault.TransformBlock(block);
        }
    }

    // Fewer than 16 elements: double Box–Muller per element, the second normal of each pair cached.
    private void RandnSmall(Span<float> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            if (_cachedNormal is { } cached)
            {
                _cachedNormal = null;
                destination[i] = (float)cached;
                continue;
            }

            var u1 = NextDouble();
            var u2 = NextDouble();
            var radius = Math.Sqrt(-2.0 * Math.Log(1.0 - u2));
            var theta = 2.0 * Math.PI * u1;
            _cachedNormal = radius * Math.Sin(theta);
            destination[i] = (float)(radius * Math.Cos(theta));
        }
    }
}
