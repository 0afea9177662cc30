namespace FewStep.Functions.Rendering;

/// <summary>What one batch renders: the shared settings and the images, as one pipeline call.</summary>
public sealed record RenderJob(
    string Model,
    int NumInferenceSteps,
    float GuidanceScale,
    int Width,
    int Height,
    IReadOnlyList<RenderItem> Items,
    bool UseResolutionBinning = false,
    FewStep.Diffusion.Noise.TorchNormalKernel NoiseKernel = FewStep.Diffusion.Noise.TorchNormalKernel.Avx2);
