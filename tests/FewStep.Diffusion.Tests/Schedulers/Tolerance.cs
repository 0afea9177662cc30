using System.Globalization;

namespace FewStep.Diffusion.Tests.Schedulers;

/// <summary>|actual - expected| &lt;= atol + rtol * |expected|, element-wise, with the worst element in the message.</summary>
internal readonly record struct Tolerance(double Atol, double Rtol)
{
    /// <summary>The README's scheduler tolerance.</summary>
    public static Tolerance Scheduler { get; } = new(1e-5, 1e-5);

    /// <summary>The README's PixArt-LCM latent / x0 tolerance (alpha_bar(999) ~ 4e-5 amplifies float32 rounding).</summary>
    public static Tolerance PixArtLatents { get; } = new(1e-2, 1e-4);

    /// <summary>Asserts and returns the largest absolute difference.</summary>
    public double AssertClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs((double)actual[i] - expected[i]);
            if (!(diff <= Atol + (Rtol * Math.Abs(expected[i]))))
            {
                Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                    $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (|diff| {diff:E3} > {Atol:E0} + {Rtol:E0} * |expected|)"));
            }

            maxDiff = Math.Max(maxDiff, diff);
        }

        return maxDiff;
    }

    public double AssertClose(string what, double expected, double actual) =>
        AssertClose(what, [(float)expected], [(float)actual]);
}
