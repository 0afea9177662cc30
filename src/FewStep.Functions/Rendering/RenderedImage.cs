namespace FewStep.Functions.Rendering;

/// <summary>One rendered image as PNG bytes (parameters in its text chunks).</summary>
public sealed record RenderedImage(RenderItem Item, BinaryData Png);
