namespace FewStep.Onnx.Pipelines;

/// <summary>The shape of a generation's latents: [batch, channels, height, width].</summary>
public sealed record LatentShape(int Batch, int Channels, int Height, int Width);
