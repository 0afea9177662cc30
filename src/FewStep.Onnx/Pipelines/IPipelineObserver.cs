using FewStep.Onnx.Models;

namespace FewStep.Onnx.Pipelines;

/// <summary>
/// Sees a generation's intermediate tensors as they are made: conformance tests compare them with the
/// reference, progress reporting counts steps. Every method has a no-op default; memory handed over belongs to
/// the pipeline and is valid only during the call.
/// </summary>
public interface IPipelineObserver
{
    /// <summary>An observer that ignores everything.</summary>
    static IPipelineObserver None { get; } = new NoObserver();

    /// <summary>Token ids a tokenizer produced (<paramref name="tokenizer"/>: <c>tokenizer</c>, <c>tokenizer_2</c>; <paramref name="kind"/>: prompt or negative).</summary>
    void OnTokenized(string tokenizer, string kind, IReadOnlyList<int[]> ids)
    {
    }

    /// <summary>Attention masks a tokenizer produced (T5, PixArt); same naming as <see cref="OnTokenized"/>.</summary>
    void OnAttentionMask(string tokenizer, string kind, IReadOnlyList<int[]> mask)
    {
    }

    void OnConditioning(UNetConditioning conditioning)
    {
    }

    /// <summary>The constant inputs of a PixArt transformer (embeddings, mask, resolution and aspect-ratio conditions).</summary>
    void OnTransformerConditioning(TransformerConditioning conditioning)
    {
    }

    /// <summary>The latents entering the first step (N(0,1) draw × init_noise_sigma).</summary>
    void OnInitialLatents(ReadOnlyMemory<float> latents)
    {
    }

    void OnStep(DenoisingStep step)
    {
    }

    void OnVaeInput(ReadOnlyMemory<float> latents)
    {
    }

    void OnVaeOutput(ReadOnlyMemory<float> decoded)
    {
    }

    /// <summary>One image as NHWC floats in [0, 1] (diffusers <c>output_type="np"</c>), before 8-bit rounding.</summary>
    void OnImage(int index, ReadOnlyMemory<float> image)
    {
    }
}

/// <summary>The no-op observer behind <see cref="IPipelineObserver.None"/>.</summary>
internal sealed class NoObserver : IPipelineObserver
{
}
