namespace FewStep.Diffusion.Schedulers;

/// <summary>
/// The beta schedules of diffusers' schedulers and their <c>alphas_cumprod</c>, in float32 as torch computes them.
/// Mirrors the <c>__init__</c> of diffusers 0.27.2 <c>schedulers/scheduling_euler_discrete.py</c> (the same code is
/// copied into <c>scheduling_euler_ancestral_discrete.py</c> and <c>scheduling_lcm.py</c>), plus
/// <c>betas_for_alpha_bar</c> and <c>rescale_zero_terminal_snr</c> from <c>scheduling_ddpm.py</c> / <c>scheduling_ddim.py</c>.
/// </summary>
public static class BetaSchedule
{
    public const string Linear = "linear";
    public const string ScaledLinear = "scaled_linear";
    public const string SquaredCosCapV2 = "squaredcos_cap_v2";

    /// <summary>
    /// The betas of <paramref name="config"/>: <c>trained_betas</c> when given, otherwise the named
    /// <c>beta_schedule</c>; then <c>rescale_betas_zero_snr</c>. Null config fields take the class defaults passed in.
    /// </summary>
    /// <exception cref="DiffusionException">An unknown <c>beta_schedule</c> or a bad <c>num_train_timesteps</c>.</exception>
    public static float[] Betas(SchedulerConfig config, string defaultSchedule, double defaultBetaStart, double defaultBetaEnd)
    {
        ArgumentNullException.ThrowIfNull(config);
        int n = config.NumTrainTimesteps;
        if (n < 2)
        {
            throw config.Invalid("num_train_timesteps", $"must be at least 2, got {n}");
        }

        float[] betas;
        if (config.TrainedBetas is { } trained)
        {
            if (trained.Count != n)
            {
                throw config.Invalid("trained_betas", $"has {trained.Count} values but num_train_timesteps is {n}");
            }

            // torch.tensor(trained_betas, dtype=torch.float32)
            betas = trained.Select(b => (float)b).ToArray();
        }
        else
        {
            double start = config.BetaStart ?? defaultBetaStart;
            double end = config.BetaEnd ?? defaultBetaEnd;
            string schedule = config.BetaSchedule ?? defaultSchedule;
            betas = schedule switch
            {
                // torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float32)
                Linear => ReferenceMath.TorchLinspaceFloat32(start, end, n),
                // torch.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=torch.float32) ** 2
                ScaledLinear => Square(ReferenceMath.TorchLinspaceFloat32(Math.Sqrt(start), Math.Sqrt(end), n)),
                // betas_for_alpha_bar(num_train_timesteps): the Glide cosine schedule
                SquaredCosCapV2 => BetasForAlphaBar(n),
                _ => throw config.Unsupported("beta_schedule", schedule, Linear, ScaledLinear, SquaredCosCapV2),
            };
        }

        return config.RescaleBetasZeroSnr ? RescaleZeroTerminalSnr(betas) : betas;
    }

    /// <summary><c>alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)</c> in float32.</summary>
    public static float[] AlphasCumprod(ReadOnlySpan<float> betas)
    {
        var alphas = new float[betas.Length];
        for (int i = 0; i < betas.Length; i++)
        {
            alphas[i] = 1f - betas[i];
        }

        return ReferenceMath.TorchCumprodFloat32(alphas);
    }

    /// <summary>
    /// diffusers <c>betas_for_alpha_bar(num_diffusion_timesteps, max_beta=0.999, alpha_transform_type="cosine")</c>:
    /// computed in float64 as Python does, returned as float32.
    /// </summary>
    public static float[] BetasForAlphaBar(int numDiffusionTimesteps, double maxBeta = 0.999)
    {
        static double AlphaBar(double t)
        {
            double c = Math.Cos((t + 0.008) / 1.008 * Math.PI / 2);
            return c * c;
        }

        var betas = new float[numDiffusionTimesteps];
        for (int i = 0; i < numDiffusionTimesteps; i++)
        {
            double t1 = (double)i / numDiffusionTimesteps;
            double t2 = (double)(i + 1) / numDiffusionTimesteps;
            betas[i] = (float)Math.Min(1 - (AlphaBar(t2) / AlphaBar(t1)), maxBeta);
        }

        return betas;
    }

    /// <summary>
    /// diffusers <c>rescale_zero_terminal_snr(betas)</c> (https://arxiv.org/pdf/2305.08891.pdf, Algorithm 1), in
    /// float32: shift sqrt(alphas_cumprod) so the last is 0, rescale so the first is unchanged, back to betas.
    /// </summary>
    public static float[] RescaleZeroTerminalSnr(ReadOnlySpan<float> betas)
    {
        var alphasBarSqrt = AlphasCumprod(betas);
        for (int i = 0; i < alphasBarSqrt.Length; i++)
        {
            alphasBarSqrt[i] = MathF.Sqrt(alphasBarSqrt[i]);
        }

        float first = alphasBarSqrt[0];
        float last = alphasBarSqrt[^1];
        float scale = first / (first - last);
        var alphasBar = new float[alphasBarSqrt.Length];
        for (int i = 0; i < alphasBar.Length; i++)
        {
            float shifted = (alphasBarSqrt[i] - last) * scale;
            alphasBar[i] = shifted * shifted;
        }

        var result = new float[betas.Length];
        result[0] = 1f - alphasBar[0];
        for (int i = 1; i < result.Length; i++)
        {
            result[i] = 1f - (alphasBar[i] / alphasBar[i - 1]);
        }

        return result;
    }

    private static float[] Square(float[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] *= values[i];
        }

        return values;
    }
}
