using System.Collections.ObjectModel;
using FewStep.Diffusion.Noise;

namespace FewStep.Diffusion.Schedulers;

/// <summary>
/// diffusers 0.27.2 <c>EulerDiscreteScheduler</c> (<c>src/diffusers/schedulers/scheduling_euler_discrete.py</c>):
/// Algorithm 2 (Euler steps) of Karras et al. (2022), https://arxiv.org/abs/2206.00364, with the pipelines'
/// defaults <c>s_churn = 0</c> (so no noise is added, and none is drawn here), <c>s_noise = 1</c>.
/// </summary>
public sealed class EulerDiscreteScheduler : IScheduler
{
    private readonly SchedulerConfig _config;
    private readonly string _timestepSpacing;

    // sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5, indexed by training timestep (float32).
    private readonly float[] _trainSigmas;
    private float[] _sigmas;
    private double[] _timesteps = [];

    public EulerDiscreteScheduler(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _timestepSpacing = TimestepSpacing.Validate(config, TimestepSpacing.Linspace);
        if (config.PredictionType is not (PredictionTypes.Epsilon or PredictionTypes.VPrediction
            or PredictionTypes.Sample or PredictionTypes.OriginalSample))
        {
            throw config.Unsupported("prediction_type", config.PredictionType,
                PredictionTypes.Epsilon, PredictionTypes.VPrediction, PredictionTypes.Sample);
        }

        if (config.InterpolationType is not ("linear" or "log_linear"))
        {
            throw config.Unsupported("interpolation_type", config.InterpolationType, "linear", "log_linear");
        }

        if (config.TimestepType is not ("discrete" or "continuous"))
        {
            throw config.Unsupported("timestep_type", config.TimestepType, "discrete", "continuous");
        }

        _trainSigmas = EulerSigmas.Training(config);

        // Before set_timesteps, diffusers holds the training sigmas (descending) and a final 0.
        _sigmas = [.. _trainSigmas.Reverse(), 0f];
        Sigmas = Array.AsReadOnly(_sigmas);
    }

    public string ClassName => "EulerDiscreteScheduler";

    public IReadOnlyList<double> Timesteps => _timesteps;

    /// <summary>The sigma of each step, then the final one (0): <c>Sigmas[i]</c> goes to <c>Sigmas[i + 1]</c> at step i.</summary>
    public IReadOnlyList<float> Sigmas { get; private set; }

    /// <summary>
    /// diffusers <c>init_noise_sigma</c>: the largest sigma for "linspace"/"trailing" spacing, otherwise
    /// <c>(max_sigma**2 + 1) ** 0.5</c>.
    /// </summary>
    public float InitNoiseSigma => EulerSigmas.InitNoiseSigma(_sigmas, _timestepSpacing);

    /// <summary>diffusers <c>EulerDiscreteScheduler.set_timesteps</c>.</summary>
    public void SetTimesteps(int numInferenceSteps)
    {
        SchedulerGuards.CheckInferenceSteps(numInferenceSteps, ClassName, _config);

        int n = numInferenceSteps;
        float[] timesteps = TimestepSpacing.Compute(_timestepSpacing, _config.NumTrainTimesteps, n, _config.StepsOffset);

        // sigmas before the float32 cast: np.interp works in float64, log_linear in float32.
        double[] sigmas;
        if (_config.InterpolationType == "linear")
        {
            // np.interp(timesteps, np.arange(0, len(sigmas)), sigmas)
            sigmas = timesteps.Select(t => ReferenceMath.NumpyInterp(t, _trainSigmas)).ToArray();
        }
        else
        {
            // torch.linspace(np.log(sigmas[-1]), np.log(sigmas[0]), num_inference_steps + 1).exp()
            // (n + 1 sigmas for n timesteps, as in diffusers 0.27.2)
            var logSigmas = ReferenceMath.TorchLinspaceFloat32(
                MathF.Log(_trainSigmas[^1]), MathF.Log(_trainSigmas[0]), n + 1);
            sigmas = logSigmas.Select(s => (double)MathF.Exp(s)).ToArray();
        }

        double[] timesteps64 = timesteps.Select(t => (double)t).ToArray();
        if (_config.UseKarrasSigmas)
        {
            sigmas = ConvertToKarras(sigmas, n);
            var logTrainSigmas = _trainSigmas.Select(s => MathF.Log(s)).ToArray();
            timesteps64 = sigmas.Select(s => SigmaToT(s, logTrainSigmas)).ToArray();
        }

        // sigmas = torch.from_numpy(sigmas).to(dtype=torch.float32)
        float[] sigmas32 = sigmas.Select(s => (float)s).ToArray();

        if (_config.TimestepType == "continuous" && _config.PredictionType == PredictionTypes.VPrediction)
        {
            // self.timesteps = torch.Tensor([0.25 * sigma.log() for sigma in sigmas])
            _timesteps = sigmas32.Select(s => (double)(0.25f * MathF.Log(s))).ToArray();
        }
        else
        {
            // torch.from_numpy(timesteps.astype(np.float32))
            _timesteps = timesteps64.Select(t => (double)(float)t).ToArray();
        }

        // self.sigmas = torch.cat([sigmas, torch.zeros(1)])
        _sigmas = [.. sigmas32, 0f];
        Sigmas = Array.AsReadOnly(_sigmas);
    }

    /// <summary><c>scale_model_input</c> divides the sample by <c>(sigma**2 + 1) ** 0.5</c>; this is its inverse.</summary>
    public float ScaleModelInputFactor(int stepIndex)
    {
        float sigma = SigmaAt(stepIndex);
        return EulerSigmas.ScaleModelInputFactor(sigma);
    }

    /// <summary>
    /// diffusers <c>EulerDiscreteScheduler.step</c> with <c>s_churn = 0</c>: gamma = 0, sigma_hat = sigma, and
    /// the noise diffusers draws is unused, so <paramref name="noise"/> is not called. <paramref name="prevSample"/>
    /// may be the same memory as <paramref name="sample"/>.
    /// </summary>
    public void Step(
        int stepIndex,
        ReadOnlySpan<float> modelOutput,
        ReadOnlySpan<float> sample,
        INoiseSource noise,
        Span<float> prevSample,
        Span<float> predOriginalSample)
    {
        SchedulerGuards.CheckStepBuffers(modelOutput, sample, prevSample, predOriginalSample);
        float sigma = SigmaAt(stepIndex);
        float sigmaNext = _sigmas[stepIndex + 1];

        // gamma = min(s_churn / (len(sigmas) - 1), 2**0.5 - 1) = 0; sigma_hat = sigma * (gamma + 1)
        float sigmaHat = sigma * (0f + 1f);
        float dt = sigmaNext - sigmaHat;

        // v_prediction: c_out = -sigma / (sigma**2 + 1) ** 0.5, c_skip divisor (sigma**2 + 1)
        float sigmaSquaredPlusOne = (sigma * sigma) + 1f;
        float cOut = -sigma / MathF.Sqrt(sigmaSquaredPlusOne);

        bool epsilon = _config.PredictionType == PredictionTypes.Epsilon;
        bool vPrediction = _config.PredictionType == PredictionTypes.VPrediction;
        for (int i = 0; i < sample.Length; i++)
        {
            float x = sample[i];
            float m = modelOutput[i];

            // 1. pred_original_sample (x_0)
            float x0 = epsilon ? x - (sigmaHat * m) // epsilon
                : vPrediction ? (m * cOut) + (x / sigmaSquaredPlusOne) // v_prediction
                : m; // "sample" / "original_sample"

            // 2. derivative = (sample - pred_original_sample) / sigma_hat; prev_sample = sample + derivative * dt
            float derivative = (x - x0) / sigmaHat;
            predOriginalSample[i] = x0;
            prevSample[i] = x + (derivative * dt);
        }
    }

    private float SigmaAt(int stepIndex)
    {
        SchedulerGuards.CheckStepIndex(stepIndex, _timesteps.Length, ClassName);
        return _sigmas[stepIndex];
    }

    /// <summary>
    /// diffusers <c>_convert_to_karras</c> (k-diffusion <c>get_sigmas_karras</c>, rho = 7), float64. sigma_min and
    /// sigma_max come from the config when set, otherwise from the schedule.
    /// </summary>
    private double[] ConvertToKarras(double[] inSigmas, int numInferenceSteps)
    {
        const double Rho = 7.0; // the value used in the paper
        double sigmaMin = _config.SigmaMin ?? inSigmas[^1];
        double sigmaMax = _config.SigmaMax ?? inSigmas[0];
        var ramp = ReferenceMath.NumpyLinspace(0, 1, numInferenceSteps);
        double minInvRho = Math.Pow(sigmaMin, 1 / Rho);
        double maxInvRho = Math.Pow(sigmaMax, 1 / Rho);
        return ramp.Select(r => Math.Pow(maxInvRho + (r * (minInvRho - maxInvRho)), Rho)).ToArray();
    }

    /// <summary>
    /// diffusers <c>_sigma_to_t</c>: the fractional training timestep of <paramref name="sigma"/>, interpolated in
    /// log sigma between the neighbouring training sigmas (<paramref name="logSigmas"/> is float32, as numpy holds it).
    /// </summary>
    private static double SigmaToT(double sigma, float[] logSigmas)
    {
        double logSigma = Math.Log(Math.Max(sigma, 1e-10));

        // low_idx = np.cumsum(dists >= 0).argmax().clip(max=len - 2): the last index with log_sigmas <= log_sigma.
        int lowIdx = 0;
        for (int i = 0; i < logSigmas.Length; i++)
        {
            if (logSigma - logSigmas[i] >= 0)
            {
                lowIdx = i;
            }
        }

        lowIdx = Math.Min(lowIdx, logSigmas.Length - 2);
        int highIdx = lowIdx + 1;
        float low = logSigmas[lowIdx];
        float high = logSigmas[highIdx];

        // w = clip((low - log_sigma) / (low - high), 0, 1); t = (1 - w) * low_idx + w * high_idx
        double w = (low - logSigma) / (low - high);
        w = Math.Clamp(w, 0, 1);
        return ((1 - w) * lowIdx) + (w * highIdx);
    }
}
