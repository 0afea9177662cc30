namespace FewStep.Diffusion.Schedulers;

/// <summary>
/// What the two Euler schedulers share in diffusers: the class defaults of their beta schedule, the training
/// sigmas of <c>__init__</c>, <c>init_noise_sigma</c> and <c>scale_model_input</c>.
/// </summary>
internal static class EulerSigmas
{
    // EulerDiscreteScheduler.__init__ / EulerAncestralDiscreteScheduler.__init__ defaults.
    private const string DefaultBetaSchedule = BetaSchedule.Linear;
    private const double DefaultBetaStart = 0.0001;
    private const double DefaultBetaEnd = 0.02;

    /// <summary><c>((1 - alphas_cumprod) / alphas_cumprod) ** 0.5</c> in float32, indexed by training timestep.</summary>
    public static float[] Training(SchedulerConfig config)
    {
        var betas = BetaSchedule.Betas(config, DefaultBetaSchedule, DefaultBetaStart, DefaultBetaEnd);
        var alphasCumprod = BetaSchedule.AlphasCumprod(betas);
        if (config.RescaleBetasZeroSnr)
        {
            // Close to 0 without being 0 so the first sigma is not inf (the smallest positive fp16 subnormal).
            alphasCumprod[^1] = 1f / (1 << 24);
        }

        var sigmas = new float[alphasCumprod.Length];
        for (int t = 0; t < sigmas.Length; t++)
        {
            float a = alphasCumprod[t];
            sigmas[t] = MathF.Sqrt((1f - a) / a);
        }

        return sigmas;
    }

    /// <summary>The largest sigma for "linspace"/"trailing" spacing, otherwise <c>(max_sigma**2 + 1) ** 0.5</c>.</summary>
    public static float InitNoiseSigma(ReadOnlySpan<float> sigmas, string timestepSpacing)
    {
        float max = float.MinValue;
        foreach (var sigma in sigmas)
        {
            max = Math.Max(max, sigma);
        }

        return timestepSpacing is TimestepSpacing.Linspace or TimestepSpacing.Trailing
            ? max
            : MathF.Sqrt((max * max) + 1f);
    }

    /// <summary><c>scale_model_input</c> divides the sample by <c>(sigma**2 + 1) ** 0.5</c>; this is its inverse.</summary>
    public static float ScaleModelInputFactor(float sigma) => 1f / MathF.Sqrt((sigma * sigma) + 1f);
}
