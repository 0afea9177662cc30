namespace FewStep.Onnx.Models;

/// <summary>
/// The constant inputs of a PixArt transformer for one generation, one row per transformer batch row (with guidance:
/// negative rows first).
/// </summary>
/// <param name="Rows">Transformer batch rows: prompts × images per prompt, doubled with classifier-free guidance.</param>
/// <param name="SequenceLength">Tokens per row (120).</param>
/// <param name="EncoderHiddenStates">[Rows, SequenceLength, width]: the T5 <c>last_hidden_state</c>.</param>
/// <param name="EncoderAttentionMask">[Rows, SequenceLength] 0/1: the tokenizer's attention mask.</param>
/// <param name="Resolution">[Rows, 2] = [height, width] in pixels, or null when the model takes no such condition.</param>
/// <param name="AspectRatio">[Rows, 1] = height / width, or null with <paramref name="Resolution"/>.</param>
/// <param name="ClassifierFreeGuidance">Whether the rows hold an unconditional half.</param>
public sealed record TransformerConditioning(
    int Rows,
    int SequenceLength,
    float[] EncoderHiddenStates,
    int[] EncoderAttentionMask,
    float[]? Resolution,
    float[]? AspectRatio,
    bool ClassifierFreeGuidance)
{
    public int HiddenWidth => EncoderHiddenStates.Length / (Rows * SequenceLength);
}
