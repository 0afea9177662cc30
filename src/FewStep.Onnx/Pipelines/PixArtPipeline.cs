using System.Globalization;
using System.Numerics.Tensors;
using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Diffusion.Noise;
using FewStep.Diffusion.Schedulers;
using FewStep.Diffusion.Tensors;
using FewStep.Diffusion.Tokenization;
using FewStep.Onnx.Models;
using FewStep.Onnx.Previews;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Pipelines;

/// <summary>
/// diffusers' <c>PixArtAlphaPipeline</c> (0.27.2) over one ONNX model folder, as PixArt-δ (PixArt-LCM) runs it:
/// T5 tokenizer and encoder with attention mask, a DiT transformer with learned sigma and the resolution /
/// aspect-ratio conditions, the folder's scheduler (LCM for PixArt-LCM), ordinary classifier-free guidance when
/// <c>guidance_scale &gt; 1</c>. Sessions are created once; concurrent <see cref="Generate"/> calls are safe.
/// </summary>
public sealed class PixArtPipeline : ITextToImagePipeline
{
    private int _disposed;
    /// <summary>diffusers 0.27.2 <c>encode_prompt(max_sequence_length=120)</c>: the tokenizer pads and truncates to this.</summary>
    public const int MaxSequenceLength = 120;

    private readonly T5Tokenizer _tokenizer;
    private readonly SchedulerSource _scheduler;

    private PixArtPipeline(
        ModelFolder folder,
        T5Tokenizer tokenizer,
        T5EncoderModel textEncoder,
        PixArtTransformerModel transformer,
        VaeDecoderModel vae,
        SchedulerSource scheduler)
    {
        Folder = folder;
        _tokenizer = tokenizer;
        TextEncoder = textEncoder;
        Transformer = transformer;
        VaeDecoder = vae;
        _scheduler = scheduler;
    }

    public ModelFolder Folder { get; }

    public PipelineFamily Family => Folder.Family;

    public T5EncoderModel TextEncoder { get; }

    public PixArtTransformerModel Transformer { get; }

    public VaeDecoderModel VaeDecoder { get; }

    public SchedulerConfig SchedulerConfig => _scheduler.Config;

    /// <summary>Sizes: multiples of VAE scale factor × patch size; default transformer <c>sample_size</c> × VAE scale factor (1024).</summary>
    public ModelGeometry Geometry => ModelGeometry.Of(Transformer.Config, VaeDecoder.Config);

    public int SizeMultiple => Geometry.SizeMultiple;

    public int DefaultSize => Geometry.DefaultSize;

    /// <summary>Makes the live previews of a generation's steps (a tiny autoencoder, or the family's latent projection).</summary>
    public LatentPreviewer Previewer { get; private init; } = null!;

    public ExecutionProviderKind Provider => Transformer.Session.Provider;

    public int? CudaGraphs => Transformer.Session.CudaGraphs?.Count;

    public IReadOnlyList<Lora.AppliedLora> Loras => [];

    /// <summary>Opens a PixArt model folder and creates its sessions; errors name the file or field.</summary>
    public static PixArtPipeline Load(string modelFolder, OnnxSessionFactory sessions)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        return Load(ModelFolder.Open(modelFolder), sessions);
    }

    internal static PixArtPipeline Load(ModelFolder folder, OnnxSessionFactory sessions)
    {
        if (folder.Family != PipelineFamily.PixArt)
        {
            throw new DiffusionException(
                $"'{folder.Root}' is a {folder.Index.ClassName}, not a PixArtAlphaPipeline; load it with {nameof(TextToImagePipeline)}.{nameof(TextToImagePipeline.Load)}.");
        }

        var scheduler = new SchedulerSource(folder.SchedulerConfigPath);
        var tokenizer = T5Tokenizer.Load(folder.ComponentDirectory("tokenizer"));
        using var loader = new ComponentLoader();
        var transformer = loader.Add(new PixArtTransformerModel(
            sessions.Create("transformer", folder.OnnxPath("transformer")), folder.ReadConfig<TransformerConfig>("transformer")));
        var vae = loader.Add(new VaeDecoderModel(
            sessions.Create("vae_decoder", folder.OnnxPath("vae_decoder")), folder.ReadConfig<VaeConfig>("vae_decoder"),
            sessions.Options.VaeDecodeBatch, sessions.Options.ShrinkArenaAfterDecode, sessions.Options.VaeTiling));
        var previewer = TinyAutoencoder.CreatePreviewer(folder, sessions, vae.Config, loader);
        var encoder = loader.Add(new T5EncoderModel(
            sessions.Create("text_encoder", folder.OnnxPath("text_encoder")), folder.ReadConfig<T5EncoderConfig>("text_encoder")));
        CheckComponentsFit(folder, encoder, transformer, vae);
        if (loader.SplitAcrossProviders && sessions.CudaFailure is not null)
        {
            // Every session from now on is created on CPU (the factory remembers why CUDA failed).
            loader.Dispose();
            return Load(folder, sessions);
        }

        var pipeline = new PixArtPipeline(folder, tokenizer, encoder, transformer, vae, scheduler) { Previewer = previewer };
        loader.Keep();
        return pipeline;
    }

    public GenerationResult Generate(
        GenerationRequest request,
        INoiseSource noise,
        IPipelineObserver? observer = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(noise);
        // A disposed pipeline's sessions are freed native objects: refuse rather than call into them.
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        observer ??= IPipelineObserver.None;
        var stages = new StageRecorder();
        var call = Validate(request);
        var batch = request.ImageCount;
        var latentHeight = call.Height / VaeDecoder.Config.ScaleFactor;
        var latentWidth = call.Width / VaeDecoder.Config.ScaleFactor;

        // 1. Encode the prompts.
        var conditioning = Encode(request, call, observer, stages, cancellationToken);
        observer.OnTransformerConditioning(conditioning);

        // 2. Prepare the timesteps.
        var scheduler = _scheduler.Create(request.Scheduler, request.SchedulerOverrides);
        scheduler.SetTimesteps(request.NumInferenceSteps);
        var timesteps = scheduler.Timesteps;

        // 3. Prepare the latents: N(0,1) scaled by the scheduler's initial sigma.
        var channels = Transformer.Config.InChannels;
        var latentLength = batch * channels * latentHeight * latentWidth;
        var latents = new float[latentLength];
        noise.FillStandardNormal(NoiseDraw.InitialLatents, latents);
        TensorPrimitives.Multiply(latents, scheduler.InitNoiseSigma, latents);
        observer.OnInitialLatents(latents);

        // 4. Denoise.
        DenoisingLoop.Result denoised;
        using (var buffers = Transformer.CreateBuffers(conditioning, latentHeight, latentWidth))
        {
            denoised = DenoisingLoop.Run(scheduler, latents, buffers, batch, channels, latentWidth, call.ClassifierFreeGuidance,
                request.GuidanceScale, noise, Folder.Name,
                "A float16 transformer can overflow in attention or its feed-forward layers; use the float32 export.",
                observer, stages, cancellationToken);
        }

        // 5. Decode the last prev_sample (on LCM's last step it equals denoised).
        var images = Decode(denoised.Latents, request, call, batch, latentHeight, latentWidth, observer, stages, cancellationToken);
        return new GenerationResult(images, stages.Finish());
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        TextEncoder.Dispose();
        Transformer.Dispose();
        VaeDecoder.Dispose();
        Previewer.Dispose();
    }

    // Mismatched components fail here, naming both sides, instead of deep inside ONNX Runtime.
    private static void CheckComponentsFit(ModelFolder folder, T5EncoderModel encoder, PixArtTransformerModel transformer, VaeDecoderModel vae)
    {
        var config = transformer.Config;
        if (config.CaptionChannels is { } caption && caption != encoder.Config.DModel)
        {
            throw new DiffusionException(
                $"'{folder.Root}': the transformer's caption_channels is {caption} but the text_encoder d_model is {encoder.Config.DModel}; " +
                "the components do not belong to one PixArtAlphaPipeline.");
        }

        if (config.InChannels != vae.Config.LatentChannels)
        {
            throw new DiffusionException(
                $"'{folder.Root}': the transformer's in_channels is {config.InChannels} but the VAE's latent_channels is {vae.Config.LatentChannels}.");
        }

        if (config.OutputChannels != config.InChannels && !config.LearnedSigma)
        {
            throw new DiffusionException(
                $"'{folder.Root}': the transformer's out_channels is {config.OutputChannels}; PixArt needs in_channels ({config.InChannels}) or twice that (learned sigma).");
        }
    }

    private PixArtCall Validate(GenerationRequest request)
    {
        RequestChecks.Common(request);
        if (request.Prompts2 is not null || request.NegativePrompts2 is not null)
        {
            throw new DiffusionException(
                $"prompt_2 and negative_prompt_2 are for SDXL pipelines; '{Folder.Name}' is a {Folder.Index.ClassName}, which has one text encoder.");
        }

        var count = request.Prompts.Count;
        var negatives = RequestChecks.PerPrompt(request.NegativePrompts, count, "negative_prompt", allowOne: true);
        var width = request.Width ?? DefaultSize;
        var height = request.Height ?? DefaultSize;
        var why = $"VAE scale factor {VaeDecoder.Config.ScaleFactor} × transformer patch size {Transformer.Config.PatchSize}";
        RequestChecks.Side("width", width, SizeMultiple, Folder.Name, why);
        RequestChecks.Side("height", height, SizeMultiple, Folder.Name, why);
        var (generateHeight, generateWidth) = (height, width);
        if (request.UseResolutionBinning)
        {
            var bins = ResolutionBinning.BinsFor(Transformer.Config.SampleSize) ?? throw new DiffusionException(
                $"use_resolution_binning: '{Folder.Name}' has transformer sample_size {Transformer.Config.SampleSize?.ToString(CultureInfo.InvariantCulture) ?? "unset"}; " +
                "diffusers has aspect-ratio bins only for 128, 64 and 32.");
            (generateHeight, generateWidth) = ResolutionBinning.Classify(height, width, bins);
        }

        return new PixArtCall(negatives ?? Enumerable.Repeat(string.Empty, count).ToArray(), request.GuidanceScale > 1f,
            generateWidth, generateHeight, width, height);
    }

    // diffusers encode_prompt: text.lower().strip() (clean_caption off), T5 tokens padded to 120 with the attention
    // mask, the encoder given the mask; then the embeddings repeated per image (p0, p0, p1, p1) and the mask tiled
    // (p0, p1, p0, p1: `mask.view(bs, -1).repeat(n, 1)`, as diffusers 0.27.2 does; the same rows when n is 1 or there
    // is one prompt). With guidance the negative rows come first.
    private TransformerConditioning Encode(GenerationRequest request, PixArtCall call, IPipelineObserver observer, StageRecorder stages, CancellationToken cancellationToken)
    {
        T5TokenizedText[] positives;
        T5TokenizedText[]? negatives = null;
        using (stages.Begin("tokenize"))
        {
            positives = Tokenize(request.Prompts, "prompt", observer);
            if (call.ClassifierFreeGuidance)
            {
                negatives = Tokenize(call.Negatives, "negative", observer);
            }
        }

        var n = request.NumImagesPerPrompt;
        float[] hidden;
        int[] mask;
        using (var stage = stages.Begin("text_encode"))
        {
            (hidden, mask) = EncodeRows(positives, n, stage.Clock, cancellationToken);
            if (negatives is not null)
            {
                var (negativeHidden, negativeMask) = EncodeRows(negatives, n, stage.Clock, cancellationToken);
                hidden = LatentMath.ConcatRows(negativeHidden, hidden);
                mask = [.. negativeMask, .. mask];
            }
        }

        var rows = (negatives is null ? 1 : 2) * request.ImageCount;
        float[]? resolution = null;
        float[]? aspectRatio = null;
        if (Transformer.Config.UsesResolutionConditions)
        {
            resolution = LatentMath.RepeatRows([call.Height, call.Width], 1, rows);
            aspectRatio = LatentMath.RepeatRows([(float)((double)call.Height / call.Width)], 1, rows);
        }

        return new TransformerConditioning(rows, MaxSequenceLength, hidden, mask, resolution, aspectRatio, call.ClassifierFreeGuidance);
    }

    private T5TokenizedText[] Tokenize(IReadOnlyList<string> texts, string kind, IPipelineObserver observer)
    {
        var tokenized = texts.Select(text => _tokenizer.Encode(PythonText.PixArtPreprocess(text), MaxSequenceLength)).ToArray();
        observer.OnTokenized("tokenizer", kind, tokenized.Select(t => t.Ids).ToArray());
        observer.OnAttentionMask("tokenizer", kind, tokenized.Select(t => t.AttentionMask).ToArray());
        return tokenized;
    }

    private (float[] Hidden, int[] Mask) EncodeRows(T5TokenizedText[] texts, int imagesPerPrompt, OnnxRunClock clock, CancellationToken cancellationToken)
    {
        var hidden = TextEncoder.Encode(texts.Select(t => t.Ids).ToArray(), texts.Select(t => t.AttentionMask).ToArray(), clock, cancellationToken);
        var expected = texts.Length * MaxSequenceLength * TextEncoder.Config.DModel;
        if (hidden.Length != expected)
        {
            throw new DiffusionException(
                $"'{TextEncoder.Session.ModelPath}' returned {hidden.Length} values for {texts.Length}×{MaxSequenceLength} tokens; " +
                $"d_model {TextEncoder.Config.DModel} (text_encoder/config.json) expects {expected}.");
        }

        var mask = new int[imagesPerPrompt * texts.Length * MaxSequenceLength];
        for (var copy = 0; copy < imagesPerPrompt; copy++)
        {
            for (var r = 0; r < texts.Length; r++)
            {
                texts[r].AttentionMask.CopyTo(mask, ((copy * texts.Length) + r) * MaxSequenceLength);
            }
        }

        return (LatentMath.RepeatRows(hidden, texts.Length, imagesPerPrompt), mask);
    }

    private GeneratedImage[] Decode(
        float[] latents,
        GenerationRequest request,
        PixArtCall call,
        int batch,
        int latentHeight,
        int latentWidth,
        IPipelineObserver observer,
        StageRecorder stages,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var vaeConfig = VaeDecoder.Config;
        var vaeInput = new float[latents.Length];
        using (stages.Begin("vae_scale"))
        {
            TensorPrimitives.Divide(latents, vaeConfig.ScalingFactor, vaeInput);
        }

        var decoded = VaeDecoding.Decode(VaeDecoder, vaeInput, batch, latentHeight, latentWidth, Folder.Name,
            "A float16 overflow? Use an fp32 vae_decoder.", observer, stages, cancellationToken);
        using (stages.Begin("postprocess"))
        {
            // Resolution binning: resize the decoded batch back to the requested size (diffusers resize_and_crop_tensor).
            decoded = ImageResize.ResizeAndCrop(decoded, batch, vaeConfig.OutChannels, call.Height, call.Width, call.RequestedHeight, call.RequestedWidth);
            return VaeDecoding.ToImages(decoded, batch, vaeConfig.OutChannels, call.RequestedHeight, call.RequestedWidth, request.NumImagesPerPrompt, observer);
        }
    }

    /// <summary>A validated request: negatives (one per prompt), guidance, the size generated and the size requested.</summary>
    private sealed record PixArtCall(IReadOnlyList<string> Negatives, bool ClassifierFreeGuidance, int Width, int Height, int RequestedWidth, int RequestedHeight);
}
