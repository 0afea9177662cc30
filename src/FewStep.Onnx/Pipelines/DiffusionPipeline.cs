using System.Globalization;
using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Diffusion.Noise;
using FewStep.Diffusion.Schedulers;
using FewStep.Diffusion.Tensors;
using FewStep.Diffusion.Tokenization;
using FewStep.Onnx.Lora;
using FewStep.Onnx.Models;
using FewStep.Onnx.Pipelines.PromptEncoding;
using FewStep.Onnx.Previews;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Pipelines;

/// <summary>
/// A few-step text-to-image pipeline over one ONNX model folder: SD (SD-Turbo), SDXL (SDXL-Turbo,
/// SDXL-Lightning) or LCM. Sessions are created once and the pipeline is safe for concurrent
/// <see cref="Generate"/> calls: each call has its own scheduler and buffers.
/// </summary>
public sealed class DiffusionPipeline : ITextToImagePipeline
{
    private int _disposed;
    private readonly IPromptEncoder _promptEncoder;
    private readonly SchedulerSource _scheduler;

    private DiffusionPipeline(ModelFolder folder, IPromptEncoder promptEncoder, UNetModel unet, VaeDecoderModel vae, SchedulerSource scheduler)
    {
        Folder = folder;
        _promptEncoder = promptEncoder;
        UNet = unet;
        VaeDecoder = vae;
        _scheduler = scheduler;
    }

    public ModelFolder Folder { get; }

    public PipelineFamily Family => Folder.Family;

    public UNetModel UNet { get; }

    public VaeDecoderModel VaeDecoder { get; }

    /// <summary>The folder's scheduler config, before any per-request overrides.</summary>
    public SchedulerConfig SchedulerConfig => _scheduler.Config;

    /// <summary>Allowed and default image sizes, from the UNet and VAE configs.</summary>
    public ModelGeometry Geometry => ModelGeometry.Of(UNet.Config, VaeDecoder.Config);

    /// <summary>Width and height must be multiples of this: VAE scale factor × the UNet's down-sampling.</summary>
    public int SizeMultiple => Geometry.SizeMultiple;

    /// <summary>diffusers' default size: UNet <c>sample_size</c> × VAE scale factor.</summary>
    public int DefaultSize => Geometry.DefaultSize;

    /// <summary>Makes the live previews of a generation's steps (a tiny autoencoder, or the family's latent projection).</summary>
    public LatentPreviewer Previewer { get; private init; } = null!;

    public ExecutionProviderKind Provider => UNet.Session.Provider;

    public int? CudaGraphs => UNet.Session.CudaGraphs?.Count;

    /// <summary>The LoRAs merged into this pipeline's weights at load (empty for a plain model).</summary>
    public IReadOnlyList<AppliedLora> Loras { get; private init; } = [];

    /// <summary>Opens a model folder and creates every session it needs; errors name the file or field.</summary>
    public static DiffusionPipeline Load(string modelFolder, OnnxSessionFactory sessions, PipelineLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        return Load(ModelFolder.Open(modelFolder), sessions, options ?? PipelineLoadOptions.None);
    }

    internal static DiffusionPipeline Load(ModelFolder folder, OnnxSessionFactory sessions, PipelineLoadOptions options)
    {
        if (folder.Family == PipelineFamily.PixArt)
        {
            throw new DiffusionException(
                $"'{folder.Root}' is a {folder.Index.ClassName}, which {nameof(DiffusionPipeline)} does not run; load it with {nameof(TextToImagePipeline)}.{nameof(TextToImagePipeline.Load)}.");
        }

        var scheduler = new SchedulerSource(folder.SchedulerConfigPath);
        var unetConfig = folder.ReadConfig<UNetConfig>("unet");

        // LoRAs are merged before any session exists: each component's session is created once, with its merged weights.
        using var loras = LoraApplication.Prepare(folder, unetConfig, options.Loras);
        using var loader = new ComponentLoader();
        var unet = loader.Add(new UNetModel(loras.CreateSession(sessions, "unet", folder.OnnxPath("unet")), unetConfig));
        var vae = loader.Add(new VaeDecoderModel(
            sessions.Create("vae_decoder", folder.OnnxPath("vae_decoder")), folder.ReadConfig<VaeConfig>("vae_decoder"),
            sessions.Options.VaeDecodeBatch, sessions.Options.ShrinkArenaAfterDecode, sessions.Options.VaeTiling));
        var previewer = TinyAutoencoder.CreatePreviewer(folder, sessions, vae.Config, loader);
        var encoder = loader.Add(CreatePromptEncoder(folder, sessions, loras, unet, loader));
        CheckComponentsFit(folder, unet, encoder);
        if (loader.SplitAcrossProviders && sessions.CudaFailure is not null)
        {
            // Every session from now on is created on CPU (the factory remembers why CUDA failed).
            loader.Dispose();
            return Load(folder, sessions, options);
        }

        var pipeline = new DiffusionPipeline(folder, encoder, unet, vae, scheduler) { Loras = loras.Applied, Previewer = previewer };
        loader.Keep();
        return pipeline;
    }

    /// <summary>
    /// Runs the pipeline: encode prompts, prepare timesteps, prepare latents, denoise, decode. Every Gaussian
    /// draw comes from <paramref name="noise"/> (see <see cref="TorchNoiseSource"/>).
    /// </summary>
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
        var prompts = Validate(request);
        var batch = request.ImageCount;
        var latentHeight = prompts.Height / VaeDecoder.Config.ScaleFactor;
        var latentWidth = prompts.Width / VaeDecoder.Config.ScaleFactor;

        // 1. Encode the prompts (and the guidance embedding, for UNets distilled with one).
        var conditioning = _promptEncoder.Encode(prompts, observer, stages, cancellationToken);
        conditioning = AddGuidanceEmbedding(conditioning, request.GuidanceScale);
        observer.OnConditioning(conditioning);

        // 2. Prepare the timesteps.
        var scheduler = _scheduler.Create(request.Scheduler, request.SchedulerOverrides);
        scheduler.SetTimesteps(request.NumInferenceSteps);
        var timesteps = scheduler.Timesteps;

        // 3. Prepare the latents: N(0,1) scaled by the scheduler's initial sigma.
        var latentLength = batch * UNet.Config.InChannels * latentHeight * latentWidth;
        var latents = new float[latentLength];
        noise.FillStandardNormal(NoiseDraw.InitialLatents, latents);
        System.Numerics.Tensors.TensorPrimitives.Multiply(latents, scheduler.InitNoiseSigma, latents);
        observer.OnInitialLatents(latents);

        // 4. Denoise.
        DenoisingLoop.Result denoised;
        using (var buffers = UNet.CreateBuffers(conditioning, latentHeight, latentWidth))
        {
            denoised = DenoisingLoop.Run(scheduler, latents, buffers, batch, UNet.Config.InChannels, latentWidth, conditioning.ClassifierFreeGuidance,
                request.GuidanceScale, noise, Folder.Name, UNetNonFiniteHint, observer, stages, cancellationToken);
        }

        // 5. Decode: LCM decodes its last x0 estimate ("denoised"), the others the last sample.
        var final = Family == PipelineFamily.LatentConsistency ? denoised.PredOriginal : denoised.Latents;
        var images = Decode(final, request, prompts, batch, latentHeight, latentWidth, observer, stages, cancellationToken);
        return new GenerationResult(images, stages.Finish());
    }

    // SD 2.x-based float16 exports (SD-Turbo among them) overflow in attention: the known cause of NaN in the UNet.
    private const string UNetNonFiniteHint =
        "A float16 UNet of an SD 2.x-based model (SD-Turbo) is known to overflow in attention; use its float32 export, " +
        "or a float16 export whose attention runs in float32 (upcast_attention).";

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _promptEncoder.Dispose();
        UNet.Dispose();
        VaeDecoder.Dispose();
        Previewer.Dispose();
    }

    private static IPromptEncoder CreatePromptEncoder(ModelFolder folder, OnnxSessionFactory sessions, LoraApplication loras, UNetModel unet, ComponentLoader loader)
    {
        TextEncoderModel Encoder(string component) => loader.Add(new TextEncoderModel(
            loras.CreateSession(sessions, component, folder.OnnxPath(component)), folder.ReadConfig<TextEncoderConfig>(component)));

        var tokenizer = ClipTokenizer.Load(folder.ComponentDirectory("tokenizer"));
        if (folder.Family != PipelineFamily.StableDiffusionXL)
        {
            return new ClipPromptEncoder(tokenizer, Encoder("text_encoder"));
        }

        var tokenizer2 = ClipTokenizer.Load(folder.ComponentDirectory("tokenizer_2"));
        return new SdxlPromptEncoder(tokenizer, tokenizer2, Encoder("text_encoder"), Encoder("text_encoder_2"),
            folder.Index.ForceZerosForEmptyPrompt ?? true, unet);
    }

    // Mismatched components fail here, naming both sides, instead of deep inside ONNX Runtime.
    private static void CheckComponentsFit(ModelFolder folder, UNetModel unet, IPromptEncoder encoder)
    {
        var expected = unet.Config.CrossAttentionWidth();
        if (expected is { } width && width != encoder.HiddenWidth)
        {
            var encoders = folder.Family == PipelineFamily.StableDiffusionXL ? "text_encoder + text_encoder_2 hidden_size" : "text_encoder hidden_size";
            throw new DiffusionException(
                $"'{folder.Root}': the UNet's cross_attention_dim is {width} but the {encoders} is {encoder.HiddenWidth}; " +
                $"the components do not belong to one {folder.Index.ClassName}.");
        }

        var provided = new HashSet<string>(StringComparer.Ordinal) { UNetModel.Sample, UNetModel.Timestep, UNetModel.EncoderHiddenStates };
        if (folder.Family == PipelineFamily.StableDiffusionXL)
        {
            provided.Add(UNetModel.TextEmbeds);
            provided.Add(UNetModel.TimeIds);
        }

        if (unet.Config.TimeCondProjDim is not null)
        {
            provided.Add(UNetModel.TimestepCond);
        }

        var unexpected = unet.Session.Inputs.Keys.Where(name => !provided.Contains(name)).ToArray();
        if (unexpected.Length > 0)
        {
            throw new DiffusionException(
                $"'{unet.Session.ModelPath}' takes inputs a {folder.Index.ClassName} does not give it: {string.Join(", ", unexpected)}. " +
                "The UNet does not belong to this pipeline class (model_index.json _class_name).");
        }
    }

    private PromptSet Validate(GenerationRequest request)
    {
        RequestChecks.Common(request);
        if (request.UseResolutionBinning)
        {
            throw new DiffusionException($"use_resolution_binning is a PixArt option; '{Folder.Name}' is a {Folder.Index.ClassName}.");
        }

        var isSdxl = Family == PipelineFamily.StableDiffusionXL;
        if (!isSdxl && (request.Prompts2 is not null || request.NegativePrompts2 is not null))
        {
            throw new DiffusionException($"prompt_2 and negative_prompt_2 are for SDXL pipelines; '{Folder.Name}' is a {Folder.Index.ClassName}.");
        }

        if (Family == PipelineFamily.LatentConsistency && request.NegativePrompts is not null)
        {
            throw new DiffusionException(
                $"negative_prompt: '{Folder.Name}' is a LatentConsistencyModelPipeline, which takes no negative prompt (guidance is an embedding, not an unconditional pass).");
        }

        var count = request.Prompts.Count;
        var prompts2 = RequestChecks.PerPrompt(request.Prompts2, count, "prompt_2", allowOne: false) ?? request.Prompts;
        var negatives = RequestChecks.PerPrompt(request.NegativePrompts, count, "negative_prompt", allowOne: true);
        var negatives2 = RequestChecks.PerPrompt(request.NegativePrompts2, count, "negative_prompt_2", allowOne: true);
        var width = request.Width ?? DefaultSize;
        var height = request.Height ?? DefaultSize;
        var why = $"VAE scale factor {VaeDecoder.Config.ScaleFactor} × UNet down-sampling {UNet.Config.LatentSizeMultiple}";
        RequestChecks.Side("width", width, SizeMultiple, Folder.Name, why);
        RequestChecks.Side("height", height, SizeMultiple, Folder.Name, why);
        var cfg = Family != PipelineFamily.LatentConsistency && request.GuidanceScale > 1f;
        return new PromptSet(request.Prompts, prompts2, negatives, negatives2, request.NumImagesPerPrompt, cfg, width, height);
    }

    // diffusers computes timestep_cond whenever the UNet has time_cond_proj_dim (LCM, and SD/SDXL with a fused
    // LCM-LoRA): the guidance-scale embedding of w = guidance_scale - 1, one row per UNet row.
    private UNetConditioning AddGuidanceEmbedding(UNetConditioning conditioning, float guidanceScale)
    {
        if (UNet.Config.TimeCondProjDim is not { } dim)
        {
            return conditioning;
        }

        var row = new float[dim];
        GuidanceScaleEmbedding.Compute(guidanceScale - 1f, row);
        return conditioning with { TimestepCond = LatentMath.RepeatRows(row, 1, conditioning.Rows) };
    }

    private GeneratedImage[] Decode(
        float[] latents,
        GenerationRequest request,
        PromptSet prompts,
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
            ScaleForVae(latents, vaeInput, vaeConfig, latentHeight * latentWidth);
        }

        var decoded = VaeDecoding.Decode(VaeDecoder, vaeInput, batch, latentHeight, latentWidth, Folder.Name,
            "This is the known float16 overflow of the SDXL VAE: use an fp32 vae_decoder or the fp16-fix VAE (madebyollin/sdxl-vae-fp16-fix) exported to ONNX.",
            observer, stages, cancellationToken);
        using (stages.Begin("postprocess"))
        {
            return VaeDecoding.ToImages(decoded, batch, vaeConfig.OutChannels, prompts.Height, prompts.Width, request.NumImagesPerPrompt, observer);
        }
    }

    // diffusers: latents / scaling_factor; SDXL with a VAE that declares latents_mean/std de-normalises per channel.
    private static void ScaleForVae(float[] latents, float[] destination, VaeConfig config, int plane)
    {
        if (config.LatentsMean is { } mean && config.LatentsStd is { } std)
        {
            if (mean.Count != config.LatentChannels || std.Count != config.LatentChannels)
            {
                throw new DiffusionException($"vae_decoder config: latents_mean and latents_std need {config.LatentChannels} values (latent_channels).");
            }

            for (var i = 0; i < latents.Length; i++)
            {
                var c = i / plane % config.LatentChannels;
                destination[i] = (latents[i] * std[c] / config.ScalingFactor) + mean[c];
            }

            return;
        }

        System.Numerics.Tensors.TensorPrimitives.Divide(latents, config.ScalingFactor, destination);
    }
}
