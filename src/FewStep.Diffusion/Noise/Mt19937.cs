using System.Runtime.Intrinsics;

namespace FewStep.Diffusion.Noise;

/// <summary>
/// The 32-bit Mersenne Twister (the sequence of C++ <c>std::mt19937</c>), the engine behind PyTorch's CPU
/// generator. Written here because .NET has no MT19937 and the exact sequence is the point: seeds must give
/// torch's numbers.
/// </summary>
public sealed class Mt19937
{
    private const int N = 624;
    private const int M = 397;
    private const uint MatrixA = 0x9908B0DF;
    private const uint UpperMask = 0x80000000;
    private const uint LowerMask = 0x7FFFFFFF;

    private readonly uint[] _state = new uint[N];
    private int _index;

    public Mt19937(uint seed) => Seed(seed);

    /// <summary>Outputs produced since the last <see cref="Seed"/>.</summary>
    public long Consumed { get; private set; }

    public void Seed(uint seed)
    {
        _state[0] = seed;
        for (var i = 1; i < N; i++)
        {
            var previous = _state[i - 1];
            _state[i] = unchecked((1812433253u * (previous ^ (previous >> 30))) + (uint)i);
        }

        // The first output regenerates the state first.
        _index = N;
        Consumed = 0;
    }

    public uint Next()
    {
        if (_index >= N)
        {
            Twist();
        }

        var y = _state[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C5680;
        y ^= (y << 15) & 0xEFC60000;
        y ^= y >> 18;
        Consumed++;
        return y;
    }

    /// <summary>The next <paramref name="destination"/>.Length outputs, as many calls of <see cref="Next"/> would give them.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Fill(Span<uint> destination)
    {
        var done = 0;
        while (done < destination.Length)
        {
            if (_index >= N)
            {
                Twist();
            }

            var count = Math.Min(N - _index, destination.Length - done);
            Temper(_state.AsSpan(_index, count), destination.Slice(done, count));
            _index += count;
            done += count;
        }

        Consumed += destination.Length;
    }

    // The tempering of Next, eight words at a time where the CPU has 256-bit vectors (bitwise, so the same bits).
    private static void Temper(ReadOnlySpan<uint> words, Span<uint> destination)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var b = Vector256.Create(0x9D2C5680u);
            var c = Vector256.Create(0xEFC60000u);
            for (; i + 8 <= words.Length; i += 8)
            {
                var y = Vector256.Create(words.Slice(i, 8));
                y ^= Vector256.ShiftRightLogical(y, 11);
                y ^= Vector256.ShiftLeft(y, 7) & b;
                y ^= Vector256.ShiftLeft(y, 15) & c;
                y ^= Vector256.ShiftRightLogical(y, 18);
                y.CopyTo(destination.Slice(i, 8));
            }
        }

        for (; i < words.Length; i++)
        {
            var y = words[i];
            y ^= y >> 11;
            y ^= (y << 7) & 0x9D2C5680;
            y ^= (y << 15) & 0xEFC60000;
            y ^= y >> 18;
            destination[i] = y;
        }
    }

    // In place and in increasing order: entries from 227 on read words this pass has already replaced, which is why
    // the pass is split at 227 (and the last entry pairs with the new word 0). Within each part, eight consecutive
    // entries only read words 1 and 397 ahead (not yet replaced) or 227 behind (already replaced), so they are
    // computed as one 256-bit vector where the CPU has them: the same arithmetic, so the same bits.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Twist()
    {
        var state = _state.AsSpan();
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var upper = Vector256.Create(UpperMask);
            var lower = Vector256.Create(LowerMask);
            var one = Vector256<uint>.One;
            var matrix = Vector256.Create(MatrixA);
            for (; i + 8 <= N - M; i += 8)
            {
                var y = (Vector256.Create((ReadOnlySpan<uint>)state.Slice(i, 8)) & upper) | (Vector256.Create((ReadOnlySpan<uint>)state.Slice(i + 1, 8)) & lower);
                var mag = Vector256.Equals(y & one, one) & matrix;
                (Vector256.Create((ReadOnlySpan<uint>)state.Slice(i + M, 8)) ^ Vector256.ShiftRightLogical(y, 1) ^ mag).CopyTo(state.Slice(i, 8));
            }

            for (; i < N - M; i++)
            {
                state[i] = Mix(state[i], state[i + 1], state[i + M]);
            }

            for (; i + 8 <= N - 1; i += 8)
            {
                var y = (Vector256.Create((ReadOnlySpan<uint>)state.Slice(i, 8)) & upper) | (Vector256.Create((ReadOnlySpan<uint>)state.Slice(i + 1, 8)) & lower);
                var mag = Vector256.Equals(y & one, one) & matrix;
                (Vector256.Create((ReadOnlySpan<uint>)state.Slice(i + M - N, 8)) ^ Vector256.ShiftRightLogical(y, 1) ^ mag).CopyTo(state.Slice(i, 8));
            }
        }

        for (; i < N - M; i++)
        {
            state[i] = Mix(state[i], state[i + 1], state[i + M]);
        }

        for (; i < N - 1; i++)
        {
            state[i] = Mix(state[i], state[i + 1], state[i + M - N]);
        }

        state[N - 1] = Mix(state[N - 1], state[0], state[M - 1]);
        _index = 0;
    }

    private static uint Mix(uint current, uint next, uint far)
    {
        var y = (current & UpperMask) | (next & LowerMask);
        return far ^ (y >> 1) ^ ((y & 1) != 0 ? MatrixA : 0);
    }
}
