namespace FewStep.Functions.Rendering;

/// <summary>A renderer's preview of its batch's first image after a denoising step (1-based <paramref name="Step"/>).</summary>
public sealed record RenderPreview(int Step, int Steps, int Width, int Height, string Method, byte[] Png);
