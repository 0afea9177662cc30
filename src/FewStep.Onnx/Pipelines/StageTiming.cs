namespace FewStep.Onnx.Pipelines;

/// <summary>Wall time of one pipeline stage and the part of it spent inside ONNX Runtime <c>Run</c> calls.</summary>
public sealed record StageTiming(string Stage, TimeSpan Elapsed, TimeSpan OnnxElapsed)
{
    /// <summary>Whether a stage is one denoiser call (<c>unet_step_i</c>, <c>transformer_step_i</c>), as the denoising loop names them.</summary>
    public static bool IsDenoiserStep(string stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return stage.StartsWith("unet_step_", StringComparison.Ordinal) || stage.StartsWith("transformer_step_", StringComparison.Ordinal);
    }
}
