using FewStep.Diffusion;
using FewStep.Diffusion.Tensors;
using FewStep.Diffusion.Tokenization;
using FewStep.Onnx.Models;

namespace FewStep.Onnx.Pipelines.PromptEncoding;

/// <summary>
/// StableDiffusionXLPipeline <c>encode_prompt</c> and micro-conditioning: both encoders' penultimate hidden
/// states joined on the last axis, the pooled <c>text_embeds</c> of encoder 2, and <c>time_ids</c> from the
/// original size, crop and target size. With guidance and no negative prompt, the negative half is zeros where
/// <c>force_zeros_for_empty_prompt</c> says so.
/// </summary>
internal sealed class SdxlPromptEncoder : IPromptEncoder
{
    private readonly ClipTokenizer _tokenizer;
    private readonly ClipTokenizer _tokenizer2;
    private readonly TextEncoderModel _encoder;
    private readonly TextEncoderModel _encoder2;
    private readonly bool _forceZerosForEmptyPrompt;

    public SdxlPromptEncoder(
        ClipTokenizer tokenizer,
        ClipTokenizer tokenizer2,
        TextEncoderModel encoder,
        TextEncoderModel encoder2,
        bool forceZerosForEmptyPrompt,
        UNetModel unet)
    {
        _tokenizer = tokenizer;
        _tokenizer2 = tokenizer2;
        _encoder = encoder;
        _encoder2 = encoder2;
        _forceZerosForEmptyPrompt = forceZerosForEmptyPrompt;
        PooledWidth = encoder2.Config.ProjectionDim ?? encoder2.Config.HiddenSize;
        CheckAddedEmbeddingWidth(unet);
        _ = encoder.PenultimateHiddenState;
        _ = encoder2.PenultimateHiddenState;
        encoder2.RequirePooledOutput();
    }

    public int HiddenWidth => _encoder.Config.HiddenSize + _encoder2.Config.HiddenSize;

    public int PooledWidth { get; }

    public UNetConditioning Encode(PromptSet prompts, IPipelineObserver observer, StageRecorder stages, CancellationToken cancellationToken)
    {
        var zeroNegatives = prompts.ClassifierFreeGuidance && prompts.Negatives is null && _forceZerosForEmptyPrompt;
        var encodeNegatives = prompts.ClassifierFreeGuidance && !zeroNegatives;
        int[][] rows1;
        int[][] rows2;
        using (stages.Begin("tokenize"))
        {
            rows1 = PromptTokens.Encode(_tokenizer, prompts.Prompts, "tokenizer", "prompt", observer);
            rows2 = PromptTokens.Encode(_tokenizer2, prompts.Prompts2, "tokenizer_2", "prompt", observer);
            if (encodeNegatives)
            {
                var negatives = prompts.NegativesOrEmpty;
                var negatives2 = prompts.Negatives2 ?? negatives;
                rows1 = [.. PromptTokens.Encode(_tokenizer, negatives, "tokenizer", "negative", observer), .. rows1];
                rows2 = [.. PromptTokens.Encode(_tokenizer2, negatives2, "tokenizer_2", "negative", observer), .. rows2];
            }
        }

        float[] hidden;
        float[] pooled;
        using (var stage = stages.Begin("text_encode"))
        {
            var penultimate1 = _encoder.PenultimateHiddenState;
            var penultimate2 = _encoder2.PenultimateHiddenState;
            var pooledName = _encoder2.RequirePooledOutput();
            var out1 = _encoder.Encode(rows1, [penultimate1], stage.Clock, cancellationToken);
            var out2 = _encoder2.Encode(rows2, [penultimate2, pooledName], stage.Clock, cancellationToken);
            hidden = LatentMath.ConcatLastAxis(out1[penultimate1], _encoder.Config.HiddenSize, out2[penultimate2], _encoder2.Config.HiddenSize);
            pooled = out2[pooledName];
        }

        var encodedRows = rows1.Length;
        if (zeroNegatives)
        {
            hidden = LatentMath.ConcatRows(new float[hidden.Length], hidden);
            pooled = LatentMath.ConcatRows(new float[pooled.Length], pooled);
            encodedRows *= 2;
        }

        var n = prompts.ImagesPerPrompt;
        var rows = encodedRows * n;
        float[] timeIds = [prompts.Height, prompts.Width, 0f, 0f, prompts.Height, prompts.Width];
        return new UNetConditioning(
            rows,
            rows1[0].Length,
            LatentMath.RepeatRows(hidden, encodedRows, n),
            LatentMath.RepeatRows(pooled, encodedRows, n),
            LatentMath.RepeatRows(timeIds, 1, rows),
            null,
            prompts.ClassifierFreeGuidance);
    }

    public void Dispose()
    {
        _encoder.Dispose();
        _encoder2.Dispose();
    }

    // diffusers _get_add_time_ids: addition_time_embed_dim × 6 time ids + the pooled width must equal what the
    // UNet's add_embedding takes (projection_class_embeddings_input_dim).
    private void CheckAddedEmbeddingWidth(UNetModel unet)
    {
        var config = unet.Config;
        if (config.AdditionTimeEmbedDim is not { } timeDim || config.ProjectionClassEmbeddingsInputDim is not { } expected)
        {
            throw new DiffusionException(
                $"'{unet.Session.ModelPath}' config lacks addition_time_embed_dim or projection_class_embeddings_input_dim: it is not an SDXL UNet.");
        }

        var passed = (timeDim * 6) + PooledWidth;
        if (passed != expected)
        {
            throw new DiffusionException(
                $"Model was misconfigured: the SDXL UNet expects an added embedding of {expected} " +
                $"(projection_class_embeddings_input_dim) but addition_time_embed_dim {timeDim} × 6 + text_encoder_2 projection_dim {PooledWidth} = {passed}. " +
                "The UNet and text_encoder_2 do not belong together.");
        }
    }
}
