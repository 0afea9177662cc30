namespace FewStep.Diffusion.Schedulers;

/// <summary>
/// The <c>timestep_spacing</c> choices of diffusers' Euler schedulers ("linspace", "leading", "trailing": Table 2 of
/// https://arxiv.org/abs/2305.08891). Mirrors the first block of <c>set_timesteps</c> in diffusers 0.27.2
/// <c>scheduling_euler_discrete.py</c> / <c>scheduling_euler_ancestral_discrete.py</c>.
/// </summary>
internal static class TimestepSpacing
{
    public const string Linspace = "linspace";
    public const string Leading = "leading";
    public const string Trailing = "trailing";

    public static readonly string[] All = [Linspace, Leading, Trailing];

    public static string Validate(SchedulerConfig config, string classDefault)
    {
        string spacing = config.TimestepSpacing ?? classDefault;
        return All.Contains(spacing, StringComparer.Ordinal)
            ? spacing
            : throw config.Unsupported("timestep_spacing", spacing, All);
    }

    /// <summary>The inference timesteps, descending, as float32 (diffusers holds them as a float32 numpy array).</summary>
    public static float[] Compute(string spacing, int numTrainTimesteps, int numInferenceSteps, int stepsOffset)
    {
        switch (spacing)
        {
            case Linspace:
            {
                // np.linspace(0, num_train_timesteps - 1, num_inference_steps, dtype=np.float32)[::-1]
                var t = ReferenceMath.NumpyLinspace(0, numTrainTimesteps - 1, numInferenceSteps);
                return t.Reverse().Select(v => (float)v).ToArray();
            }

            case Leading:
            {
                // step_ratio = num_train_timesteps // num_inference_steps
                // (np.arange(0, num_inference_steps) * step_ratio).round()[::-1].astype(np.float32) + steps_offset
                long stepRatio = numTrainTimesteps / numInferenceSteps;
                var t = new float[numInferenceSteps];
                for (int i = 0; i < numInferenceSteps; i++)
                {
                    t[i] = (float)((numInferenceSteps - 1 - i) * stepRatio) + stepsOffset;
                }

                return t;
            }

            case Trailing:
            {
                // step_ratio = num_train_timesteps / num_inference_steps
                // np.arange(num_train_timesteps, 0, -step_ratio).round().astype(np.float32) - 1
                double stepRatio = (double)numTrainTimesteps / numInferenceSteps;
                var t = ReferenceMath.NumpyArange(numTrainTimesteps, 0, -stepRatio);
                return t.Select(v => (float)ReferenceMath.RoundHalfEven(v) - 1f).ToArray();
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(spacing), spacing, "Validate the spacing first.");
        }
    }
}
