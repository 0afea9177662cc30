using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FewStep.Diffusion.Noise;

/// <summary>
/// PyTorch's AVX2 normal kernel (<c>normal_fill_16_AVX2</c> with Sleef-style <c>log</c> and <c>sincos</c> as GCC
/// compiles them): float32 throughout, every multiply-add fused exactly where the compiled kernel fuses it and
/// nowhere else, so the result matches torch to the bit. Each step below is one IEEE operation; reordering or
/// fusing anything changes last bits. The 8 lanes of one block of 16 are one <see cref="Vector256{T}"/>.
/// </summary>
internal static class TorchNormalAvx2
{
    private static readonly float P0 = Bits(0x3D9021BB);
    private static readonly float P1 = Bits(0xBDEBD1B8);
    private static readonly float P2 = Bits(0x3DEF251A);
    private static readonly float P3 = Bits(0xBDFE5D4F);
    private static readonly float P4 = Bits(0x3E11E9BF);
    private static readonly float P5 = Bits(0xBE2AAE50);
    private static readonly float P6 = Bits(0x3E4CCEAC);
    private static readonly float P7 = Bits(0xBE7FFFFC);
    private static readonly float P8 = Bits(0x3EAAAAAA);
    private static readonly float Q1 = Bits(0xB95E8083);
    private static readonly float Q2 = Bits(0x3F318000);
    private static readonly float SqrtHalf = Bits(0x3F3504F3);
    private static readonly float TwoPi = Bits(0x40C90FDB);
    private static readonly float FourOverPi = Bits(0x3FA2F983);
    private static readonly float D1 = Bits(0xBF490000);
    private static readonly float D2 = Bits(0xB97DA000);
    private static readonly float D3 = Bits(0xB3222169);
    private static readonly float Cs0 = Bits(0x37CCF5CE);
    private static readonly float Cs1 = Bits(0xBAB6061A);
    private static readonly float Cs2 = Bits(0x3D2AAAA5);
    private static readonly float Sn0 = Bits(0xB94CA1F9);
    private static readonly float Sn1 = Bits(0x3C08839E);
    private static readonly float Sn2 = Bits(0xBE2AAAA3);

    /// <summary>Whether this CPU runs <see cref="TransformBlockVector"/> (fused multiply-add in hardware).</summary>
    public static bool VectorAvailable => Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    /// <summary>Turns one block of 16 uniforms into 16 normals, element j paired with j + 8.</summary>
    public static void TransformBlock(Span<float> block)
    {
        if (VectorAvailable)
        {
            TransformBlockVector(block);
        }
        else
        {
            TransformBlockScalar(block);
        }
    }

    public static void TransformBlockScalar(Span<float> block)
    {
        for (var j = 0; j < 8; j++)
        {
            var radius = Radius(1f - block[j]);
            var (sin, cos) = SinCos(TwoPi * block[j + 8]);

            // torch writes radius·cos·std + mean with std 1 and mean 0: the + 0 makes a zero product +0.
            block[j] = (radius * cos) + 0f;
            block[j + 8] = (radius * sin) + 0f;
        }
    }

    public static void TransformBlockVector(Span<float> block)
    {
        ref var first = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(block);
        var u1 = Vector256<float>.One - Vector256.LoadUnsafe(ref first);
        var u2 = Vector256.LoadUnsafe(ref first, 8);
        var radius = Radius(u1);
        var (sin, cos) = SinCos(TwoPi * u2);
        ((radius * cos) + Vector256<float>.Zero).StoreUnsafe(ref first);
        ((radius * sin) + Vector256<float>.Zero).StoreUnsafe(ref first, 8);
    }

    // sqrt(-2 ln u1), u1 in [2^-24, 1]: Cephes' logf as torch's AVX2 code evaluates it.
    private static float Radius(float u1)
    {
        var bits = BitConverter.SingleToUInt32Bits(u1);
        var e = (float)((int)((bits >> 23) & 0xFF) - 126);
        var m = BitConverter.UInt32BitsToSingle((bits & 0x807FFFFF) | (126u << 23));
        var t = 0f;
        if (m < SqrtHalf)
        {
            e -= 1f;
            t = m;
        }

        var x = t + (m - 1f);
        var y = P0;
        y = MathF.FusedMultiplyAdd(x, y, P1);
        y = MathF.FusedMultiplyAdd(x, y, P2);
        y = MathF.FusedMultiplyAdd(x, y, P3);
        y = MathF.FusedMultiplyAdd(x, y, P4);
        y = MathF.FusedMultiplyAdd(x, y, P5);
        y = MathF.FusedMultiplyAdd(x, y, P6);
        y = MathF.FusedMultiplyAdd(x, y, P7);
        y = MathF.FusedMultiplyAdd(x, y, P8);
        var z = x * x;
        y = x * y;
        y = MathF.FusedMultiplyAdd(y, z, e * Q1);
        y = MathF.FusedMultiplyAdd(-z, 0.5f, y);
        x += y;
        var log = MathF.FusedMultiplyAdd(e, Q2, x);
        return MathF.Sqrt(-2f * log);
    }

    private static Vector256<float> Radius(Vector256<float> u1)
    {
        var bits = u1.AsUInt32();
        var e = Vector256.ConvertToSingle(Vector256.ShiftRightLogical(bits, 23).AsInt32() - Vector256.Create(126));
        var m = ((bits & Vector256.Create(0x807FFFFFu)) | Vector256.Create(126u << 23)).AsSingle();
        var small = Vector256.LessThan(m, Vector256.Create(SqrtHalf));
        e -= Vector256.ConditionalSelect(small, Vector256<float>.One, Vector256<float>.Zero);
        var t = Vector256.ConditionalSelect(small, m, Vector256<float>.Zero);
        var x = t + (m - Vector256<float>.One);
        var y = Vector256.Create(P0);
        y = Fma(x, y, P1);
        y = Fma(x, y, P2);
        y = Fma(x, y, P3);
        y = Fma(x, y, P4);
        y = Fma(x, y, P5);
        y = Fma(x, y, P6);
        y = Fma(x, y, P7);
        y = Fma(x, y, P8);
        var z = x * x;
        y = x * y;
        y = Vector256.FusedMultiplyAdd(y, z, e * Vector256.Create(Q1));
        y = Vector256.FusedMultiplyAdd(-z, Vector256.Create(0.5f), y);
        x += y;
        var log = Vector256.FusedMultiplyAdd(e, Vector256.Create(Q2), x);
        return Vector256.Sqrt(Vector256.Create(-2f) * log);
    }

    // sin and cos of a in [0, 2pi): reduction by pi/4 in three parts, then Cephes' polynomials.
    private static (float Sin, float Cos) SinCos(float a)
    {
        var j = (int)(a * FourOverPi);
        j = (j + 1) & ~1;
        var y = (float)j;
        var x = MathF.FusedMultiplyAdd(y, D1, a);
        x = MathF.FusedMultiplyAdd(y, D2, x);
        x = MathF.FusedMultiplyAdd(y, D3, x);
        var z = x * x;
        var c = MathF.FusedMultiplyAdd(z, Cs0, Cs1);
        c = MathF.FusedMultiplyAdd(z, c, Cs2);
        c = z * c;
        c = MathF.FusedMultiplyAdd(c, z, -(z * 0.5f));
        c += 1f;
        var s = MathF.FusedMultiplyAdd(Sn0, z, Sn1);
        s = MathF.FusedMultiplyAdd(z, s, Sn2);
        s = z * s;
        s = MathF.FusedMultiplyAdd(s, x, x);
        var (sin, cos) = (j & 2) == 0 ? (s, c) : (c, s);
        if ((j & 4) != 0)
        {
            sin = -sin;
        }

        if (((j - 2) & 4) == 0)
        {
            cos = -cos;
        }

        return (sin, cos);
    }

    private static (Vector256<float> Sin, Vector256<float> Cos) SinCos(Vector256<float> a)
    {
        var j = Vector256.ConvertToInt32(a * Vector256.Create(FourOverPi));
        j = (j + Vector256<int>.One) & Vector256.Create(~1);
        var y = Vector256.ConvertToSingle(j);
        var x = Vector256.FusedMultiplyAdd(y, Vector256.Create(D1), a);
        x = Vector256.FusedMultiplyAdd(y, Vector256.Create(D2), x);
        x = Vector256.FusedMultiplyAdd(y, Vector256.Create(D3), x);
        var z = x * x;
        var c = Vector256.FusedMultiplyAdd(z, Vector256.Create(Cs0), Vector256.Create(Cs1));
        c = Vector256.FusedMultiplyAdd(z, c, Vector256.Create(Cs2));
        c = z * c;
        c = Vector256.FusedMultiplyAdd(c, z, -(z * Vector256.Create(0.5f)));
        c += Vector256<float>.One;
        var s = Vector256.FusedMultiplyAdd(Vector256.Create(Sn0), z, Vector256.Create(Sn1));
        s = Vector256.FusedMultiplyAdd(z, s, Vector256.Create(Sn2));
        s = z * s;
        s = Vector256.FusedMultiplyAdd(s, x, x);
        var swap = Vector256.Equals(j & Vector256.Create(2), Vector256<int>.Zero).AsSingle();
        var sin = Vector256.ConditionalSelect(swap, s, c);
        var cos = Vector256.ConditionalSelect(swap, c, s);
        var sinSign = Vector256.ShiftLeft(j & Vector256.Create(4), 29).AsSingle();
        var cosSign = Vector256.ShiftLeft(~(j - Vector256.Create(2)) & Vector256.Create(4), 29).AsSingle();
        return (sin ^ sinSign, cos ^ cosSign);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(Vector256<float> x, Vector256<float> y, float addend) =>
        Vector256.FusedMultiplyAdd(x, y, Vector256.Create(addend));

    private static float Bits(uint bits) => BitConverter.UInt32BitsToSingle(bits);
}
