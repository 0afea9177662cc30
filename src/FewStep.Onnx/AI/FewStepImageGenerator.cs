using System.Globalization;
using System.Text.Json;
using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Imaging;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using Microsoft.Extensions.AI;

namespace FewStep.Onnx.AI;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IImageGenerator"/> over a local model folder, so .NET code written against
/// any image generator can draw with FewStep. Prompt and <see cref="ImageGenerationOptions"/> in (count, image size,
/// model id, and in <see cref="ImageGenerationOptions.AdditionalProperties"/> <c>seed</c>, <c>num_inference_steps</c>,
/// <c>guidance_scale</c>, <c>negative_prompt</c>, as the OpenAI-compatible servers spell them); PNGs out as
/// <see cref="DataContent"/> (<c>image/png</c>, with the generation parameters in their text chunks).
/// </summary>
/// <remarks>
/// The images of one call are one batch with one torch generator per image, seeded <c>seed</c>, <c>seed + 1</c>, ...
/// (diffusers' list of generators), so image <c>k</c> is the image a call with <c>seed + k</c> and count 1 makes.
/// Without a seed, a random one is drawn and written into each PNG.
/// </remarks>
public sealed class FewStepImageGenerator : IImageGenerator
{
    public const string SeedProperty = "seed";
    public const string StepsProperty = "num_inference_steps";
    public const string GuidanceProperty = "guidance_scale";
    public const string NegativePromptProperty = "negative_prompt";

    private readonly ITextToImagePipeline _pipeline;
    private readonly bool _ownsPipeline;
    private readonly FewStepImageGeneratorOptions _options;
    private readonly ImageGeneratorMetadata _metadata;

    /// <summary>Loads the model folder (its sessions are created now; errors name the file or field).</summary>
    public FewStepImageGenerator(string modelFolder, OnnxSessionFactory? sessions = null, FewStepImageGeneratorOptions? options = null)
        : this(TextToImagePipeline.Load(modelFolder, sessions ?? new OnnxSessionFactory(new OnnxExecutionOptions())), ownsPipeline: true, options)
    {
    }

    /// <summary>Draws with a loaded pipeline; <paramref name="ownsPipeline"/>: dispose it with the generator.</summary>
    public FewStepImageGenerator(ITextToImagePipeline pipeline, bool ownsPipeline = false, FewStepImageGeneratorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        _pipeline = pipeline;
        _ownsPipeline = ownsPipeline;
        _options = options ?? new FewStepImageGeneratorOptions();
        _metadata = new ImageGeneratorMetadata("FewStep", null, pipeline.Folder.Name);
    }

    public async Task<ImageGenerationResponse> GenerateAsync(
        ImageGenerationRequest request, ImageGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Prompt))
        {
            throw new DiffusionException("prompt: give a text prompt to draw.");
        }

        if (request.OriginalImages?.Any() == true)
        {
            throw new NotSupportedException($"{nameof(ImageGenerationRequest.OriginalImages)}: FewStep draws from text; image editing is not supported.");
        }

        var call = Read(request.Prompt, options);
        var result = await Task.Run(
            () => _pipeline.Generate(call.Request, TorchNoiseSource.ForSeeds(Enumerable.Range(0, call.Count).Select(k => call.Seed + k), _options.NoiseKernel),
                cancellationToken: cancellationToken),
            cancellationToken).ConfigureAwait(false);
        var contents = new List<AIContent>(result.Images.Count);
        foreach (var image in result.Images)
        {
            var parameters = new ImageParameters(request.Prompt, call.NegativePrompt, call.Seed + image.ImageIndex, call.Request.NumInferenceSteps,
                call.Request.GuidanceScale, image.Width, image.Height, _pipeline.Folder.Name, TorchNoiseSource.Name, TorchNoiseSource.KernelName(_options.NoiseKernel));
            contents.Add(new DataContent(PngImageEncoder.Encode(image, parameters), "image/png") { Name = $"{_pipeline.Folder.Name}-{call.Seed + image.ImageIndex}.png" });
        }

        return new ImageGenerationResponse(contents) { RawRepresentation = result };
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ImageGeneratorMetadata))
        {
            return _metadata;
        }

        return serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(_pipeline) ? _pipeline
            : null;
    }

    public void Dispose()
    {
        if (_ownsPipeline)
        {
            _pipeline.Dispose();
        }
    }

    private sealed record Call(GenerationRequest Request, int Count, long Seed, string? NegativePrompt);

    // Every option is checked here, naming the option: a value FewStep cannot honour is an error, never ignored.
    private Call Read(string prompt, ImageGenerationOptions? options)
    {
        options ??= new ImageGenerationOptions();
        if (options.ModelId is { } model && !string.Equals(model, _pipeline.Folder.Name, StringComparison.Ordinal))
        {
            throw new DiffusionException($"{nameof(ImageGenerationOptions.ModelId)}: this generator draws with '{_pipeline.Folder.Name}', not '{model}'.");
        }

        if (options.MediaType is { } media && !string.Equals(media, "image/png", StringComparison.OrdinalIgnoreCase))
        {
            throw new DiffusionException($"{nameof(ImageGenerationOptions.MediaType)}: FewStep writes image/png, not '{media}'.");
        }

        if (options.ResponseFormat is { } format && format != ImageGenerationResponseFormat.Data)
        {
            throw new NotSupportedException($"{nameof(ImageGenerationOptions.ResponseFormat)}: a local generator returns the image data ({ImageGenerationResponseFormat.Data}), not {format}.");
        }

        var count = options.Count ?? 1;
        if (count < 1 || count > _options.MaxCount)
        {
            throw new DiffusionException(string.Create(CultureInfo.InvariantCulture,
                $"{nameof(ImageGenerationOptions.Count)}: between 1 and {_options.MaxCount} images per call, not {count}."));
        }

        var properties = options.AdditionalProperties;
        var seed = Long(properties, SeedProperty) ?? Random.Shared.NextInt64(0, uint.MaxValue);
        var steps = (int?)Long(properties, StepsProperty) ?? _options.Steps ?? DefaultSteps(_pipeline.Family);
        var guidance = (float?)Double(properties, GuidanceProperty) ?? _options.GuidanceScale ?? 0f;
        var negative = String(properties, NegativePromptProperty);
        var request = new GenerationRequest
        {
            Prompts = [prompt],
            NegativePrompts = negative is null ? null : [negative],
            NumImagesPerPrompt = count,
            NumInferenceSteps = steps,
            GuidanceScale = guidance,
            Width = options.ImageSize?.Width,
            Height = options.ImageSize?.Height,
        };
        return new Call(request, count, seed, negative);
    }

    // LCM and PixArt-LCM are distilled for about four steps; the turbo and lightning models for one.
    private static int DefaultSteps(PipelineFamily family) =>
        family is PipelineFamily.LatentConsistency or PipelineFamily.PixArt ? 4 : 1;

    private static long? Long(AdditionalPropertiesDictionary? properties, string name) =>
        Value(properties, name) switch
        {
            null => null,
            JsonElement { ValueKind: JsonValueKind.Number } json when json.TryGetInt64(out var v) => v,
            JsonElement json when json.ValueKind == JsonValueKind.String && long.TryParse(json.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) => v,
            string text when long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) => v,
            IConvertible number and not string and not bool and not float and not double and not decimal => number.ToInt64(CultureInfo.InvariantCulture),
            var other => throw new DiffusionException($"{name}: a whole number, not '{other}'."),
        };

    private static double? Double(AdditionalPropertiesDictionary? properties, string name) =>
        Value(properties, name) switch
        {
            null => null,
            JsonElement { ValueKind: JsonValueKind.Number } json => json.GetDouble(),
            JsonElement json when json.ValueKind == JsonValueKind.String && double.TryParse(json.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
            string text when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
            IConvertible number and not string and not bool => number.ToDouble(CultureInfo.InvariantCulture),
            var other => throw new DiffusionException($"{name}: a number, not '{other}'."),
        };

    private static string? String(AdditionalPropertiesDictionary? properties, string name) =>
        Value(properties, name) switch
        {
            null => null,
            string text => text,
            JsonElement { ValueKind: JsonValueKind.String } json => json.GetString(),
            var other => throw new DiffusionException($"{name}: text, not '{other}'."),
        };

    private static object? Value(AdditionalPropertiesDictionary? properties, string name) =>
        properties is not null && properties.TryGetValue(name, out var value) && value is not JsonElement { ValueKind: JsonValueKind.Null } ? value : null;
}

/// <summary>Defaults of a <see cref="FewStepImageGenerator"/> for what a call does not say.</summary>
public sealed record FewStepImageGeneratorOptions
{
    /// <summary>Denoising steps when a call gives none; null: 4 for LCM and PixArt-LCM, 1 for the others.</summary>
    public int? Steps { get; init; }

    /// <summary>Guidance scale when a call gives none; null: 0 (the distilled models' setting).</summary>
    public float? GuidanceScale { get; init; }

    /// <summary>The most images one call may ask for.</summary>
    public int MaxCount { get; init; } = 8;

    /// <summary>Which of PyTorch's CPU normal kernels seeds are reproduced with (see <see cref="TorchNoiseSource"/>).</summary>
    public TorchNormalKernel NoiseKernel { get; init; } = TorchNormalKernel.Avx2;
}
