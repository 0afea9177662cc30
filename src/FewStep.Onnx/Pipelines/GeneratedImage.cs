namespace FewStep.Onnx.Pipelines;

/// <summary>One decoded image as 8-bit RGB, row-major (height × width × 3).</summary>
public sealed record GeneratedImage(int PromptIndex, int ImageIndex, int Width, int Height, byte[] Rgb);
