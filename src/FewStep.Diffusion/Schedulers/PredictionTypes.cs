namespace FewStep.Diffusion.Schedulers;

/// <summary>The <c>prediction_type</c> values: what the denoising model predicts.</summary>
internal static class PredictionTypes
{
    /// <summary>The noise.</summary>
    public const string Epsilon = "epsilon";

    /// <summary>v = alpha_t * noise - sigma_t * x0 (https://imagen.research.google/video/paper.pdf, section 2.4).</summary>
    public const string VPrediction = "v_prediction";

    /// <summary>The denoised sample x0.</summary>
    public const string Sample = "sample";

    /// <summary>EulerDiscrete's deprecated alias of <see cref="Sample"/>.</summary>
    public const string OriginalSample = "original_sample";
}
