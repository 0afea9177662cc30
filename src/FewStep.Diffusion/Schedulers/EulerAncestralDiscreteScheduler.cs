using FewStep.Diffusion.Noise;

namespace FewStep.Diffusion.Schedulers;

/// <summary>
/// diffusers 0.27.2 <c>EulerAncestralDiscreteScheduler</c>
/// (<c>src/diffusers/schedulers/scheduling_euler_ancestral_discrete.py</c>): Euler steps to sigma_down plus fresh
/// noise of standard deviation sigma_up, drawn on every step (on the last, sigma_up = 0).
/// </summary>
public sealed class EulerAncestralDiscreteScheduler : IScheduler
{
    private readonly SchedulerConfig _config;
    private readonly string _timestepSpacing;
    private readonly float[] _trainSigmas;
    private float[] _sigmas;
    private double[] _timesteps = [];
    private float[] _noise = [];

    public EulerAncestralDiscreteScheduler(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _timestepSpacing = TimestepSpacing.Validate(config, TimestepSpacing.Linspace);
        if (config.PredictionType == PredictionTypes.Sample)
        {
            // diffusers raises NotImplementedError("prediction_type not implemented yet: sample") in step().
            throw new DiffusionException(
                $"Scheduler config '{config.Source}': prediction_type 'sample' is not implemented by " +
                $"EulerAncestralDiscreteScheduler (diffusers raises for it too); use EulerDiscreteScheduler.");
        }

        if (config.PredictionType is not (PredictionTypes.Epsilon or PredictionTypes.VPrediction))
        {
            throw config.Unsupported("prediction_type", config.PredictionType, PredictionTypes.Epsilon, PredictionTypes.VPrediction);
        }

        _trainSigmas = EulerSigmas.Training(config);

        _sigmas = [.. _trainSigmas.Reverse(), 0f];
        Sigmas = Array.AsReadOnly(_sigmas);
    }

    public string ClassName => "EulerAncestralDiscreteScheduler";

    public IReadOnlyList<double> Timesteps => _timesteps;

    /// <summary>The sigma of each step, then the final one (0).</summary>
    public IReadOnlyList<float> Sigmas { get; private set; }

    /// <summary>diffusers <c>init_noise_sigma</c>: max sigma for "linspace"/"trailing", else <c>(max**2 + 1) ** 0.5</c>.</summary>
    public float InitNoiseSigma => EulerSigmas.InitNoiseSigma(_sigmas, _timestepSpacing);

    /// <summary>diffusers <c>EulerAncestralDiscreteScheduler.set_timesteps</c>.</summary>
    public void SetTimesteps(int numInferenceSteps)
    {
        SchedulerGuards.CheckInferenceSteps(numInferenceSteps, ClassName, _config);

        float[] timesteps = TimestepSpacing.Compute(_timestepSpacing, _config.NumTrainTimesteps, numInferenceSteps, _config.StepsOffset);

        // sigmas = np.interp(timesteps, np.arange(0, len(sigmas)), sigmas) (float64)
        // sigmas = np.concatenate([sigmas, [0.0]]).astype(np.float32)
        _sigmas = [.. timesteps.Select(t => (float)ReferenceMath.NumpyInterp(t, _trainSigmas)), 0f];
        Sigmas = Array.AsReadOnly(_sigmas);
        _timesteps = timesteps.Select(t => (double)t).ToArray();
    }

    /// <summary><c>scale_model_input</c> divides the sample by <c>(sigma**2 + 1) ** 0.5</c>; this is its inverse.</summary>
    public float ScaleModelInputFactor(int stepIndex)
    {
        SchedulerGuards.CheckStepIndex(stepIndex, _timesteps.Length, ClassName);
        float sigma = _sigmas[stepIndex];
        return EulerSigmas.ScaleModelInputFactor(sigma);
    }

    /// <summary>
    /// diffusers <c>EulerAncestralDiscreteScheduler.step</c>. Draws <see cref="NoiseDraw.ForStep"/>(stepIndex) on
    /// every step. <paramref name="prevSample"/> may be the same memory as <paramref name="sample"/>.
    /// </summary>
    public void Step(
        int stepIndex,
        ReadOnlySpan<float> modelOutput,
        ReadOnlySpan<float> sample,
        INoiseSource noise,
        Span<float> prevSample,
        Span<float> predOriginalSample)
    {
        ArgumentNullException.ThrowIfNull(noise);
        SchedulerGuards.CheckStepIndex(stepIndex, _timesteps.Length, ClassName);
        SchedulerGuards.CheckStepBuffers(modelOutput, sample, prevSample, predOriginalSample);

        float sigma = _sigmas[stepIndex];

        // v_prediction: c_out = -sigma / (sigma**2 + 1) ** 0.5, c_skip divisor (sigma**2 + 1)
        float sigmaSquaredPlusOne = (sigma * sigma) + 1f;
        float cOut = -sigma / MathF.Sqrt(sigmaSquaredPlusOne);

        // sigma_up = (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5
        // sigma_down = (sigma_to**2 - sigma_up**2) ** 0.5
        float sigmaFrom = sigma;
        float sigmaTo = _sigmas[stepIndex + 1];
        float sigmaFrom2 = sigmaFrom * sigmaFrom;
        float sigmaTo2 = sigmaTo * sigmaTo;
        float sigmaUp = MathF.Sqrt(sigmaTo2 * (sigmaFrom2 - sigmaTo2) / sigmaFrom2);
        float sigmaDown = MathF.Sqrt(sigmaTo2 - (sigmaUp * sigmaUp));
        float dt = sigmaDown - sigma;

        // noise = randn_tensor(model_output.shape), drawn after the Euler step in diffusers; its values do not
        // depend on the step, so drawing it first changes nothing.
        if (_noise.Length != sample.Length)
        {
            _noise = new float[sample.Length];
        }

        noise.FillStandardNormal(NoiseDraw.ForStep(stepIndex), _noise);

        bool epsilon = _config.PredictionType == PredictionTypes.Epsilon;
        for (int i = 0; i < sample.Length; i++)
        {
            float x = sample[i];
            float m = modelOutput[i];

            // 1. pred_original_sample (x_0)
            float x0 = epsilon ? x - (sigma * m) : (m * cOut) + (x / sigmaSquaredPlusOne);

            // 2. derivative = (sample - x0) / sigma; prev_sample = sample + derivative * dt + noise * sigma_up
            float derivative = (x - x0) / sigma;
            float euler = x + (derivative * dt);
            predOriginalSample[i] = x0;
            prevSample[i] = euler + (_noise[i] * sigmaUp);
        }
    }
}
