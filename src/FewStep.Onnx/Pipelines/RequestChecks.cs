using System.Globalization;
using FewStep.Diffusion;

namespace FewStep.Onnx.Pipelines;

/// <summary>The request checks every pipeline family makes, each failing with the field's name.</summary>
internal static class RequestChecks
{
    /// <summary>Prompts present and non-blank; steps, guidance and images per prompt in range.</summary>
    public static void Common(GenerationRequest request)
    {
        if (request.Prompts is null || request.Prompts.Count == 0)
        {
            throw new DiffusionException("prompt: at least one prompt is required.");
        }

        for (var i = 0; i < request.Prompts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(request.Prompts[i]))
            {
                throw new DiffusionException($"prompt[{i}] is empty: describe the image to generate.");
            }
        }

        if (request.NumInferenceSteps < 1)
        {
            throw new DiffusionException($"num_inference_steps must be at least 1, not {request.NumInferenceSteps}.");
        }

        if (!float.IsFinite(request.GuidanceScale) || request.GuidanceScale < 0)
        {
            throw new DiffusionException($"guidance_scale must be a finite number ≥ 0, not {request.GuidanceScale.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (request.NumImagesPerPrompt < 1)
        {
            throw new DiffusionException($"num_images_per_prompt must be at least 1, not {request.NumImagesPerPrompt}.");
        }
    }

    /// <summary>A text list with one entry per prompt (a single entry is repeated when <paramref name="allowOne"/>), or null.</summary>
    public static IReadOnlyList<string>? PerPrompt(IReadOnlyList<string>? texts, int count, string field, bool allowOne)
    {
        if (texts is null)
        {
            return null;
        }

        if (texts.Any(t => t is null))
        {
            throw new DiffusionException($"{field}: entries must be strings, not null.");
        }

        if (texts.Count == count)
        {
            return texts;
        }

        if (allowOne && texts.Count == 1)
        {
            return Enumerable.Repeat(texts[0], count).ToArray();
        }

        throw new DiffusionException($"{field} has {texts.Count} entries but there are {count} prompts{(allowOne ? " (give one, or one per prompt)" : string.Empty)}.");
    }

    /// <summary>A width or height: positive and a multiple of <paramref name="multiple"/> (<paramref name="why"/> says where it comes from).</summary>
    public static void Side(string name, int value, int multiple, string model, string why)
    {
        if (value <= 0 || value % multiple != 0)
        {
            throw new DiffusionException($"{name} must be a positive multiple of {multiple} for '{model}' ({why}), not {value}.");
        }
    }
}
