using System.Numerics;

namespace FewStep.RealSize;

/// <summary>
/// xoshiro256** (Blackman and Vigna): fast, 256 bits of state, good enough for weights that only need to look like
/// Gaussian noise. Seeded through SplitMix64 as its authors recommend, so nearby seeds give unrelated streams.
/// </summary>
internal struct Xoshiro256StarStar
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    public Xoshiro256StarStar(ulong seed)
    {
        var x = seed;
        _s0 = SplitMix64.Next(ref x);
        _s1 = SplitMix64.Next(ref x);
        _s2 = SplitMix64.Next(ref x);
        _s3 = SplitMix64.Next(ref x);
    }

    public ulong Next()
    {
        var result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }
}

/// <summary>SplitMix64 (Steele, Lea and Flood): the seeding step and a 64-bit mixing function.</summary>
internal static class SplitMix64
{
    private const ulong Gamma = 0x9E3779B97F4A7C15;

    public static ulong Next(ref ulong state)
    {
        state += Gamma;
        return Mix(state);
    }

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
