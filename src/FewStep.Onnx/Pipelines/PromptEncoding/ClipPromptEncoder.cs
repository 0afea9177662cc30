using FewStep.Diffusion.Tensors;
using FewStep.Diffusion.Tokenization;
using FewStep.Onnx.Models;

namespace FewStep.Onnx.Pipelines.PromptEncoding;

/// <summary>
/// StableDiffusionPipeline / LatentConsistencyModelPipeline <c>encode_prompt</c>: one CLIP encoder, its
/// <c>last_hidden_state</c>; with classifier-free guidance the negative prompts ("" by default) come first.
/// </summary>
internal sealed class ClipPromptEncoder : IPromptEncoder
{
    private readonly ClipTokenizer _tokenizer;
    private readonly TextEncoderModel _encoder;

    public ClipPromptEncoder(ClipTokenizer tokenizer, TextEncoderModel encoder)
    {
        _tokenizer = tokenizer;
        _encoder = encoder;
    }

    public int HiddenWidth => _encoder.Config.HiddenSize;

    public UNetConditioning Encode(PromptSet prompts, IPipelineObserver observer, StageRecorder stages, CancellationToken cancellationToken)
    {
        int[][] rows;
        using (stages.Begin("tokenize"))
        {
            rows = PromptTokens.Encode(_tokenizer, prompts.Prompts, "tokenizer", "prompt", observer);
            if (prompts.ClassifierFreeGuidance)
            {
                var negatives = PromptTokens.Encode(_tokenizer, prompts.NegativesOrEmpty, "tokenizer", "negative", observer);
                rows = [.. negatives, .. rows];
            }
        }

        float[] hidden;
        using (var stage = stages.Begin("text_encode"))
        {
            hidden = _encoder.Encode(rows, [TextEncoderModel.LastHiddenState], stage.Clock, cancellationToken)[TextEncoderModel.LastHiddenState];
        }

        var sequence = rows[0].Length;
        var repeated = LatentMath.RepeatRows(hidden, rows.Length, prompts.ImagesPerPrompt);
        return new UNetConditioning(rows.Length * prompts.ImagesPerPrompt, sequence, repeated, null, null, null, prompts.ClassifierFreeGuidance);
    }

    public void Dispose() => _encoder.Dispose();
}
