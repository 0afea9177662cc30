namespace FewStep.Diffusion.Noise;

/// <summary>
/// PyTorch's scalar (<c>DEFAULT</c> dispatch) normal kernel: <c>sqrtf(-2 logf(u1))</c> and <c>sincosf(2pi u2)</c>
/// with glibc's <c>logf</c> and <c>sincosf</c>. Their results are reproduced, for every argument the sampler can
/// produce, by glibc's own double-precision algorithms written out below (tables and coefficients from glibc
/// 2.28+), evaluated without fused operations and rounded to float once — .NET's MathF.Log and MathF.SinCos
/// call the platform's libm, which need not be glibc's, so they are not used.
/// </summary>
internal static class TorchNormalDefault
{
    private static readonly double[] s_invC =
    [
        D(0x3FF661EC79F8F3BE), D(0x3FF571ED4AAF883D), D(0x3FF49539F0F010B0), D(0x3FF3C995B0B80385),
        D(0x3FF30D190C8864A5), D(0x3FF25E227B0B8EA0), D(0x3FF1BB4A4A1A343F), D(0x3FF12358F08AE5BA),
        D(0x3FF0953F419900A7), D(0x3FF0000000000000), D(0x3FEE608CFD9A47AC), D(0x3FECA4B31F026AA0),
        D(0x3FEB2036576AFCE6), D(0x3FE9C2D163A1AA2D), D(0x3FE886E6037841ED), D(0x3FE767DCF5534862),
    ];

    private static readonly double[] s_logC =
    [
        D(0xBFD57BF7808CAADE), D(0xBFD2BEF0A7C06DDB), D(0xBFD01EAE7F513A67), D(0xBFCB31D8A68224E9),
        D(0xBFC6574F0AC07758), D(0xBFC1AA2BC79C8100), D(0xBFBA4E76CE8C0E5E), D(0xBFB1973C5A611CCC),
        D(0xBFA252F438E10C1E), D(0x0000000000000000), D(0x3FAAA5AA5DF25984), D(0x3FBC5E53AA362EB4),
        D(0x3FC526E57720DB08), D(0x3FCBC2860D224770), D(0x3FD1058BC8A07EE1), D(0x3FD4043057B6EE09),
    ];

    private static readonly double Ln2 = D(0x3FE62E42FEFA39EF);
    private static readonly double A0 = D(0xBFD00EA348B88334);
    private static readonly double A1 = D(0x3FD5575B0BE00B6A);
    private static readonly double A2 = D(0xBFDFFFFEF20A4123);
    private static readonly double InvPiOver2Times2To24 = D(0x41645F306DC9C883);
    private static readonly double PiOver2 = D(0x3FF921FB54442D18);
    private static readonly double K1 = D(0xBFDFFFFFFD0C621C);
    private static readonly double K2 = D(0x3FA55553E1068F19);
    private static readonly double K3 = D(0xBF56C087E89A359D);
    private static readonly double K4 = D(0x3EF99343027BF8C3);
    private static readonly double T1 = D(0xBFC555545995A603);
    private static readonly double T2 = D(0x3F81107605230BC4);
    private static readonly double T3 = D(0xBF2994EB3774CF24);
    private static readonly double[] s_sign = [1, -1, -1, 1];

    public static void TransformBlock(Span<float> block)
    {
        for (var j = 0; j < 8; j++)
        {
            var radius = MathF.Sqrt(-2f * Log(1f - block[j]));
            var (sin, cos) = SinCos((float)(block[j + 8] * 6.283185307179586));
            block[j] = (radius * cos) + 0f;
            block[j + 8] = (radius * sin) + 0f;
        }
    }

    /// <summary>glibc's <c>logf</c> on (0, 1].</summary>
    public static float Log(float x)
    {
        if (x == 1f)
        {
            return 0f;
        }

        var ix = BitConverter.SingleToUInt32Bits(x);
        var tmp = unchecked(ix - 0x3F330000u);
        var i = (int)((tmp >> 19) & 15);
        var k = (int)tmp >> 23;
        var z = (double)BitConverter.UInt32BitsToSingle(ix - (tmp & 0xFF800000u));
        var r = (z * s_invC[i]) - 1;
        var y0 = s_logC[i] + (k * Ln2);
        var r2 = r * r;
        var y = (A1 * r) + A2;
        y = (A0 * r2) + y;
        y = (y * r2) + (y0 + r);
        return (float)y;
    }

    /// <summary>glibc's <c>sincosf</c> on [0, 2pi).</summary>
    public static (float Sin, float Cos) SinCos(float a)
    {
        if (BitConverter.SingleToUInt32Bits(a) < 0x39800000)
        {
            return (a, 1f);
        }

        double x = a;
        var n = 0;
        if (BitConverter.SingleToUInt32Bits(a) >= 0x3F400000)
        {
            n = ((int)(x * InvPiOver2Times2To24) + 0x800000) >> 24;
            x -= n * PiOver2;
        }

        var sg = s_sign[n & 3];
        var cn = (n & 2) != 0 ? -1.0 : 1.0;
        var xs = x * sg;
        var x2 = x * x;
        var x4 = x2 * x2;
        var x3 = x2 * xs;
        var x5 = x3 * x2;
        var x6 = x4 * x2;
        var s = (xs + (x3 * T1)) + (x5 * (T2 + (x2 * T3)));
        var c = ((cn + (x2 * (cn * K1))) + (x4 * (cn * K2))) + (x6 * ((cn * K3) + (x2 * (cn * K4))));
        return (n & 1) != 0 ? ((float)c, (float)s) : ((float)s, (float)c);
    }

    private static double D(ulong bits) => BitConverter.UInt64BitsToDouble(bits);
}
