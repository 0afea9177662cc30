using System.Diagnostics.CodeAnalysis;
using FewStep.Diffusion.Noise;

namespace FewStep.Diffusion.Schedulers;

/// <summary>
/// A diffusers scheduler: <c>set_timesteps</c>, <c>scale_model_input</c> and <c>step</c>, on flat float32
/// tensors (the math is element-wise, so the shape does not matter). One instance serves one generation at a
/// time: create a new one per generation from <see cref="SchedulerFactory"/>.
/// </summary>
public interface IScheduler
{
    /// <summary>The diffusers class this scheduler reproduces, e.g. <c>EulerDiscreteScheduler</c>.</summary>
    string ClassName { get; }

    /// <summary>Timesteps of the current schedule (after <see cref="SetTimesteps"/>), as diffusers holds them.</summary>
    IReadOnlyList<double> Timesteps { get; }

    /// <summary>Standard deviation of the initial noise: the initial latents are N(0,1) times this.</summary>
    float InitNoiseSigma { get; }

    /// <summary>diffusers <c>set_timesteps(num_inference_steps)</c>.</summary>
    void SetTimesteps(int numInferenceSteps);

    /// <summary>The factor <c>scale_model_input</c> multiplies the sample by at this step (1 where it is the identity).</summary>
    float ScaleModelInputFactor(int stepIndex);

    /// <summary>
    /// diffusers <c>step</c> for step <paramref name="stepIndex"/>: writes <c>prev_sample</c> and the x0 estimate
    /// (<c>pred_original_sample</c>, or <c>denoised</c> for LCM). Draws noise from <paramref name="noise"/> as
    /// <see cref="NoiseDraw.ForStep"/>(stepIndex) only where the reference uses it.
    /// </summary>
    [SuppressMessage("Naming", "CA1716:Identifiers should not match keywords",
        Justification = "Mirrors diffusers' step(); 'Step' is only a keyword in Visual Basic.")]
    void Step(
        int stepIndex,
        ReadOnlySpan<float> modelOutput,
        ReadOnlySpan<float> sample,
        INoiseSource noise,
        Span<float> prevSample,
        Span<float> predOriginalSample);
}
