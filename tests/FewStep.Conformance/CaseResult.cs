namespace FewStep.Conformance;

/// <summary>The outcome of one case: pass or fail, the largest absolute difference seen, and every failure.</summary>
internal sealed record CaseResult(string Name, bool Passed, double MaxAbsDiff, int ArraysCompared, IReadOnlyList<string> Failures, TimeSpan Elapsed)
{
    /// <summary>Each compared array's largest absolute difference, in the order compared.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> ArrayDiffs { get; init; } = [];

    /// <summary>Noise draws checked against diffusers' hashes (seeded cases; 0 when the noise was injected).</summary>
    public int NoiseDrawsChecked { get; init; }
}
