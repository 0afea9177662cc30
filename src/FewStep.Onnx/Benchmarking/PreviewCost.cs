namespace FewStep.Onnx.Benchmarking;

/// <summary>
/// What one live preview costs on the denoising thread (projection or tiny-autoencoder decode, and PNG), against the
/// median denoiser step it follows: <see cref="Share"/> is the fraction of a step one preview adds when a preview is
/// made every step (the service makes at most one a second, so its share is at most this).
/// </summary>
public sealed record PreviewCost(string Method, int Width, int Height, double MedianMs, double StepMs)
{
    public double Share => StepMs > 0 ? MedianMs / StepMs : double.NaN;
}
