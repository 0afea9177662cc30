namespace FewStep.Conformance;

/// <summary>|actual − expected| ≤ atol + rtol · |expected|, element-wise (numpy's allclose).</summary>
internal sealed record Tolerance(double Atol, double Rtol)
{
    public static Tolerance Exact { get; } = new(0, 0);

    /// <summary>A whole pipeline with recorded noise (conformance README): atol 1e-3 + rtol 1e-4.</summary>
    public static Tolerance Pipeline { get; } = new(1e-3, 1e-4);

    /// <summary>The final image in [0, 1]: atol 2e-3.</summary>
    public static Tolerance Image { get; } = new(2e-3, 0);

    public bool Accepts(double actual, double expected) => Math.Abs(actual - expected) <= Atol + (Rtol * Math.Abs(expected));
}
