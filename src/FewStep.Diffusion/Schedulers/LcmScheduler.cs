using FewStep.Diffusion.Noise;

namespace FewStep.Diffusion.Schedulers;

/// <summary>
/// diffusers 0.27.2 <c>LCMScheduler</c> (<c>src/diffusers/schedulers/scheduling_lcm.py</c>): multistep latent
/// consistency sampling (https://arxiv.org/abs/2310.04378). <c>Step</c> writes the consistency-model output
/// <c>denoised</c> as the x0 estimate; the LCM pipeline decodes the last step's <c>denoised</c> (equal to its
/// <c>prev_sample</c>: no noise is drawn on the last step).
/// </summary>
/// <remarks>
/// As in diffusers 0.27.2, the LCM schedule ignores <c>timestep_spacing</c> and <c>steps_offset</c> (the inference
/// timesteps are taken from the <c>original_inference_steps</c> distillation schedule); an unknown
/// <c>timestep_spacing</c> is still rejected. <c>thresholding</c> (dynamic thresholding needs each image's
/// quantile, so the batch layout, which <see cref="IScheduler"/> does not carry) is not supported.
/// </remarks>
public sealed class LcmScheduler : IScheduler
{
    private const string DefaultBetaSchedule = BetaSchedule.ScaledLinear;
    private const double DefaultBetaStart = 0.00085;
    private const double DefaultBetaEnd = 0.012;

    // get_scalings_for_boundary_condition_discrete: self.sigma_data = 0.5 (the default)
    private const float SigmaData = 0.5f;

    private readonly SchedulerConfig _config;
    private readonly float[] _alphasCumprod;
    private readonly float _finalAlphaCumprod;
    private long[] _timesteps = [];
    private double[] _timestepsAsDouble = [];
    private float[] _noise = [];

    public LcmScheduler(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        TimestepSpacing.Validate(config, TimestepSpacing.Leading);
        if (config.PredictionType is not (PredictionTypes.Epsilon or PredictionTypes.VPrediction or PredictionTypes.Sample))
        {
            throw config.Unsupported("prediction_type", config.PredictionType,
                PredictionTypes.Epsilon, PredictionTypes.VPrediction, PredictionTypes.Sample);
        }

        if (config.Thresholding)
        {
            throw new DiffusionException(
                $"Scheduler config '{config.Source}': thresholding true is not supported (dynamic thresholding " +
                $"needs the batch layout); set thresholding to false.");
        }

        if (config.OriginalInferenceSteps < 1)
        {
            throw config.Invalid("original_inference_steps", $"must be at least 1, got {config.OriginalInferenceSteps}");
        }

        if (config.OriginalInferenceSteps > config.NumTrainTimesteps)
        {
            throw config.Invalid("original_inference_steps",
                $"{config.OriginalInferenceSteps} cannot be larger than num_train_timesteps {config.NumTrainTimesteps}");
        }

        if (!double.IsFinite(config.TimestepScaling))
        {
            throw config.Invalid("timestep_scaling", $"must be finite, got {config.TimestepScaling}");
        }

        // __init__
        var betas = BetaSchedule.Betas(config, DefaultBetaSchedule, DefaultBetaStart, DefaultBetaEnd);
        _alphasCumprod = BetaSchedule.AlphasCumprod(betas);

        // final_alpha_cumprod = torch.tensor(1.0) if set_alpha_to_one else alphas_cumprod[0]
        _finalAlphaCumprod = config.SetAlphaToOne ? 1f : _alphasCumprod[0];
    }

    public string ClassName => "LCMScheduler";

    public IReadOnlyList<double> Timesteps => _timestepsAsDouble;

    /// <summary>diffusers <c>init_noise_sigma = 1.0</c>.</summary>
    public float InitNoiseSigma => 1f;

    /// <summary>diffusers <c>LCMScheduler.set_timesteps(num_inference_steps)</c> (strength 1, no custom timesteps).</summary>
    public void SetTimesteps(int numInferenceSteps)
    {
        int originalSteps = _config.OriginalInferenceSteps;
        int numTrain = _config.NumTrainTimesteps;
        SchedulerGuards.CheckInferenceSteps(numInferenceSteps, ClassName, _config);

        if (numInferenceSteps > numTrain)
        {
            throw new DiffusionException(
                $"num_inference_steps {numInferenceSteps} cannot be larger than num_train_timesteps {numTrain} " +
                $"({ClassName}, '{_config.Source}').");
        }

        // 1. The LCM training/distillation schedule: k = num_train_timesteps // original_steps,
        //    lcm_origin_timesteps = np.asarray(list(range(1, original_steps + 1))) * k - 1
        int k = numTrain / originalSteps;
        var lcmOriginTimesteps = new long[originalSteps];
        for (int i = 0; i < originalSteps; i++)
        {
            lcmOriginTimesteps[i] = ((i + 1L) * k) - 1;
        }

        // skipping_step = len(lcm_origin_timesteps) // num_inference_steps; < 1 and num_inference_steps > original_steps raise
        if (lcmOriginTimesteps.Length / numInferenceSteps < 1 || numInferenceSteps > originalSteps)
        {
            throw new DiffusionException(
                $"num_inference_steps {numInferenceSteps} cannot be larger than original_inference_steps {originalSteps} " +
                $"({ClassName}, '{_config.Source}').");
        }

        // 2. lcm_origin_timesteps[::-1] at (approximately) evenly spaced indices:
        //    np.floor(np.linspace(0, len(lcm_origin_timesteps), num=num_inference_steps, endpoint=False)).astype(np.int64)
        Array.Reverse(lcmOriginTimesteps);
        var indices = ReferenceMath.NumpyLinspace(0, lcmOriginTimesteps.Length, numInferenceSteps, endpoint: false);
        _timesteps = indices.Select(i => lcmOriginTimesteps[(long)Math.Floor(i)]).ToArray();
        _timestepsAsDouble = _timesteps.Select(t => (double)t).ToArray();
    }

    /// <summary>LCM's <c>scale_model_input</c> is the identity.</summary>
    public float ScaleModelInputFactor(int stepIndex)
    {
        SchedulerGuards.CheckStepIndex(stepIndex, _timesteps.Length, ClassName);
        return 1f;
    }

    /// <summary>
    /// diffusers <c>LCMScheduler.step</c>: writes <c>prev_sample</c> and <c>denoised</c> (into
    /// <paramref name="predOriginalSample"/>). Draws <see cref="NoiseDraw.ForStep"/>(stepIndex) on every step but the
    /// last. <paramref name="prevSample"/> may be the same memory as <paramref name="sample"/>.
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

        // 1. previous step value (the current one on the last step)
        long timestep = _timesteps[stepIndex];
        long prevTimestep = stepIndex + 1 < _timesteps.Length ? _timesteps[stepIndex + 1] : timestep;

        // 2. alphas, betas
        float alphaProdT = _alphasCumprod[timestep];
        float alphaProdTPrev = prevTimestep >= 0 ? _alphasCumprod[prevTimestep] : _finalAlphaCumprod;
        float betaProdT = 1f - alphaProdT;
        float betaProdTPrev = 1f - alphaProdTPrev;
        float sqrtAlphaProdT = MathF.Sqrt(alphaProdT);
        float sqrtBetaProdT = MathF.Sqrt(betaProdT);

        // 3. boundary-condition scalings
        var (cSkip, cOut) = GetScalingsForBoundaryCondition(stepIndex);

        // 4.-6. x0 from the model parameterization, clip, denoised = c_out * x0 + c_skip * sample
        bool epsilon = _config.PredictionType == PredictionTypes.Epsilon;
        bool samplePrediction = _config.PredictionType == PredictionTypes.Sample;
        bool clip = _config.ClipSample;
        float clipRange = (float)_config.ClipSampleRange;
        for (int i = 0; i < sample.Length; i++)
        {
            float x = sample[i];
            float m = modelOutput[i];
            float x0 = epsilon ? (x - (sqrtBetaProdT * m)) / sqrtAlphaProdT // epsilon
                : samplePrediction ? m // sample
                : (sqrtAlphaProdT * x) - (sqrtBetaProdT * m); // v_prediction

            if (clip)
            {
                // predicted_original_sample.clamp(-clip_sample_range, clip_sample_range)
                x0 = float.IsNaN(x0) ? x0 : Math.Clamp(x0, -clipRange, clipRange);
            }

            predOriginalSample[i] = (cOut * x0) + (cSkip * x);
        }

        // 7. noise for multistep inference, not on the last step (so never for one-step sampling):
        //    prev_sample = alpha_prod_t_prev.sqrt() * denoised + beta_prod_t_prev.sqrt() * noise
        if (stepIndex != _timesteps.Length - 1)
        {
            if (_noise.Length != sample.Length)
            {
                _noise = new float[sample.Length];
            }

            noise.FillStandardNormal(NoiseDraw.ForStep(stepIndex), _noise);
            float sqrtAlphaPrev = MathF.Sqrt(alphaProdTPrev);
            float sqrtBetaPrev = MathF.Sqrt(betaProdTPrev);
            for (int i = 0; i < prevSample.Length; i++)
            {
                prevSample[i] = (sqrtAlphaPrev * predOriginalSample[i]) + (sqrtBetaPrev * _noise[i]);
            }
        }
        else
        {
            // prev_sample = denoised
            predOriginalSample.CopyTo(prevSample);
        }
    }

    /// <summary>
    /// diffusers <c>get_scalings_for_boundary_condition_discrete(timestep)</c>, in float32:
    /// <c>c_skip = sigma_data**2 / (scaled**2 + sigma_data**2)</c>, <c>c_out = scaled / (scaled**2 + sigma_data**2) ** 0.5</c>
    /// with <c>scaled = timestep * timestep_scaling</c>.
    /// </summary>
    internal (float CSkip, float COut) GetScalingsForBoundaryCondition(int stepIndex)
    {
        SchedulerGuards.CheckStepIndex(stepIndex, _timesteps.Length, ClassName);
        float scaledTimestep = _timesteps[stepIndex] * (float)_config.TimestepScaling;
        float denominator = (scaledTimestep * scaledTimestep) + (SigmaData * SigmaData);
        return (SigmaData * SigmaData / denominator, scaledTimestep / MathF.Sqrt(denominator));
    }
}
