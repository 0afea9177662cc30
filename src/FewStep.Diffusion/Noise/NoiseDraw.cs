namespace FewStep.Diffusion.Noise;

/// <summary>
/// Names one draw of Gaussian noise in a generation: the initial latents, or the noise a scheduler's
/// <c>step</c> draws at a given step index. Naming draws (rather than counting them) lets a recorded source
/// replay a reference run exactly, whichever scheduler draws on which steps.
/// </summary>
public readonly record struct NoiseDraw(int StepIndex)
{
    public static NoiseDraw InitialLatents { get; } = new(-1);

    public static NoiseDraw ForStep(int stepIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepIndex);
        return new NoiseDraw(stepIndex);
    }

    public bool IsInitialLatents => StepIndex < 0;

    public override string ToString() => IsInitialLatents ? "initial latents" : $"step {StepIndex} noise";
}
