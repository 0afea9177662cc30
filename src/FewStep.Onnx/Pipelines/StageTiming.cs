namespace FewStep.Onnx.Pipelines;

/// <summary>Wall time of one pipeline stage and the part of it spent inside ONNX Runtime <c>Run</c> calls.</summary>
public sealed record StageTiming(string Stage, TimeSpan Elapsed, TimeSpan OnnxElapsed);
