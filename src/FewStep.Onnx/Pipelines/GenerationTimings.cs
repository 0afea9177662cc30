namespace FewStep.Onnx.Pipelines;

/// <summary>Where one generation spent its time: each stage in order, with ONNX Runtime's share.</summary>
public sealed record GenerationTimings(IReadOnlyList<StageTiming> Stages, TimeSpan Total)
{
    public TimeSpan OnnxTotal => TimeSpan.FromTicks(Stages.Sum(s => s.OnnxElapsed.Ticks));

    /// <summary>Total time ÷ time inside ONNX Runtime: 1.0 means the pipeline adds nothing.</summary>
    public double OverheadRatio => OnnxTotal > TimeSpan.Zero ? Total / OnnxTotal : double.NaN;
}
