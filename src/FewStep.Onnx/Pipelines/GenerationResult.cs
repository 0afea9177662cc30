namespace FewStep.Onnx.Pipelines;

/// <summary>The images of one request, in prompt-major order (p0 i0, p0 i1, p1 i0, ...), and its timings.</summary>
public sealed record GenerationResult(IReadOnlyList<GeneratedImage> Images, GenerationTimings Timings);
