namespace FewStep.Diffusion.Schedulers;

/// <summary>Argument checks shared by the schedulers' <c>Step</c> (programming errors, not user errors).</summary>
internal static class SchedulerGuards
{
    public static void CheckStepIndex(int stepIndex, int numSteps, string className)
    {
        if (numSteps == 0)
        {
            throw new InvalidOperationException($"{className}: call SetTimesteps before stepping.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(stepIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stepIndex, numSteps);
    }

    public static void CheckStepBuffers(
        ReadOnlySpan<float> modelOutput,
        ReadOnlySpan<float> sample,
        Span<float> prevSample,
        Span<float> predOriginalSample)
    {
        if (modelOutput.Length != sample.Length || prevSample.Length != sample.Length || predOriginalSample.Length != sample.Length)
        {
            throw new ArgumentException(
                $"modelOutput ({modelOutput.Length}), sample ({sample.Length}), prevSample ({prevSample.Length}) and " +
                $"predOriginalSample ({predOriginalSample.Length}) must have the same length.");
        }
    }
}
