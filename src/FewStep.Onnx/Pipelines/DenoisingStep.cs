namespace FewStep.Onnx.Pipelines;

/// <summary>
/// What one denoising step saw and produced, for observers (tests, progress). The memory is the pipeline's own
/// and is overwritten by the next step: copy what you keep.
/// </summary>
/// <param name="UNetSample">The denoiser's input (UNet <c>sample</c>, transformer <c>hidden_states</c>), guidance-batched.</param>
/// <param name="UNetOutput">The denoiser's raw output (PixArt: 8 channels, the learned sigma included).</param>
/// <param name="ModelOutput">What the scheduler got: after guidance (and PixArt's learned-sigma split).</param>
/// <param name="Denoiser">The denoising component: <c>unet</c> or <c>transformer</c>.</param>
/// <param name="TimestepInput">The timestep tensor the denoiser got, when it takes one per batch row (PixArt).</param>
/// <param name="Shape">The shape of <paramref name="PrevSample"/> and <paramref name="PredOriginalSample"/> (previews read it).</param>
public sealed record DenoisingStep(
    int Index,
    int Count,
    double Timestep,
    ReadOnlyMemory<float> UNetSample,
    ReadOnlyMemory<float> UNetOutput,
    ReadOnlyMemory<float> ModelOutput,
    ReadOnlyMemory<float> PrevSample,
    ReadOnlyMemory<float> PredOriginalSample,
    string Denoiser = "unet",
    IReadOnlyList<long>? TimestepInput = null,
    LatentShape? Shape = null);
