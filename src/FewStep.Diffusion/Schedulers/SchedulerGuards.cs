namespace FewStep.Diffusion.Schedulers;

/// <summary>Argument checks shared by the schedulers.</summary>
internal static class SchedulerGuards
{
    /// <summary>A user error: the step count of a request.</summary>
    public static void CheckInferenceSteps(int numInferenceSteps, string className, SchedulerConfig config)
    {
        if (numInferenceSteps < 1)
        {
            throw new DiffusionException(
                $"num_inference_steps must be at least 1, got {numInferenceSteps} ({className}, '{config.Source}').");
        }
    }

    /// <summary>Programming errors in <c>Step</c>: called before <c>SetTimesteps</c> or past the last step.</summary>
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
