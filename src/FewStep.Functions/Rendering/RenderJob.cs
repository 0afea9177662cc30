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
    FewStep.Diffusion.Noise.TorchNormalKernel NoiseKernel = FewStep.Diffusion.Noise.TorchNormalKernel.Avx2)
{
    /// <summary>The LoRAs merged into the model, in order (the catalog model's, then the request's).</summary>
    public IReadOnlyList<Contracts.LoraChoice> Loras { get; init; } = [];

    /// <summary>The scheduler replacing the folder's, or null.</summary>
    public IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Scheduler { get; init; }
}
