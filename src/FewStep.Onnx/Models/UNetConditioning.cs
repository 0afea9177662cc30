namespace FewStep.Onnx.Models;

/// <summary>
/// What the UNet is conditioned on for a whole generation, one row per UNet batch row (with classifier-free
/// guidance: the unconditional rows first, then the conditional ones, as diffusers concatenates them).
/// </summary>
/// <param name="Rows">UNet batch rows (images, doubled with classifier-free guidance).</param>
/// <param name="SequenceLength">Token positions per row.</param>
/// <param name="EncoderHiddenStates">[Rows, SequenceLength, width] row-major.</param>
/// <param name="TextEmbeds">SDXL pooled text embeddings [Rows, pooled width], else null.</param>
/// <param name="TimeIds">SDXL micro-conditioning [Rows, 6], else null.</param>
/// <param name="TimestepCond">LCM guidance embedding [Rows, time_cond_proj_dim], else null.</param>
/// <param name="ClassifierFreeGuidance">Whether the rows hold an unconditional half.</param>
public sealed record UNetConditioning(
    int Rows,
    int SequenceLength,
    float[] EncoderHiddenStates,
    float[]? TextEmbeds,
    float[]? TimeIds,
    float[]? TimestepCond,
    bool ClassifierFreeGuidance)
{
    public int HiddenWidth => EncoderHiddenStates.Length / (Rows * SequenceLength);
}
