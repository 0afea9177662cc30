namespace FewStep.Onnx.Pipelines;

/// <summary>
/// What one denoising step saw and produced, for observers (tests, progress). The memory is the pipeline's own
/// and is overwritten by the next step: copy what you keep.
/// </summary>
public sealed record DenoisingStep(
    int Index,
    int Count,
    double Timestep,
    ReadOnlyMemory<float> UNetSample,
    ReadOnlyMemory<float> UNetOutput,
    ReadOnlyMemory<float> ModelOutput,
    ReadOnlyMemory<float> PrevSample,
    ReadOnlyMemory<float> PredOriginalSample);
