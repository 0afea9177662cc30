using System.Globalization;
using System.Text.Json;
using FewStep.Diffusion;
using FewStep.Diffusion.Catalog;
using FewStep.Diffusion.Configuration;
using FewStep.Functions.Contracts;
using FewStep.Functions.Options;
using FewStep.Functions.Rendering;
using FewStep.Functions.Webhooks;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Validation;

/// <summary>
/// Turns a request body (the <c>POST /api/generations</c> schema, also one line of a batch job) into a
/// <see cref="GenerationSpec"/>: every field checked and named in the errors, missing ones taken from the model's
/// catalog entry and folder configs. Strict on purpose: an unknown field is an error, not silently ignored.
/// </summary>
public sealed partial class GenerationRequestParser
{
    public static readonly IReadOnlySet<string> Fields = new HashSet<string>(StringComparer.Ordinal)
    {
        "model", "prompt", "prompts", "prompt_2", "negative_prompt", "negative_prompt_2", "num_inference_steps",
        "guidance_scale", "width", "height", "seed", "num_images_per_prompt", "webhook_url",
        "use_resolution_binning", "loras", "scheduler",
    };

    private const int MaxWebhookLength = 2048;

    private readonly ModelRegistry _models;
    private readonly FewStepOptions _options;

    public GenerationRequestParser(ModelRegistry models, IOptions<FewStepOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _models = models;
        _options = options.Value;
    }

    /// <summary>Validates <paramref name="body"/>; <paramref name="seedSource"/> supplies the seed when none is given.</summary>
    public ParseResult Parse(JsonElement body, Func<long> seedSource)
    {
        ArgumentNullException.ThrowIfNull(seedSource);
        var errors = new ValidationErrors();
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors.Add("body", $"must be a JSON object, not {Describe(body)}.");
            return new ParseResult(null, errors);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var ambiguous = false;
        foreach (var property in body.EnumerateObject())
        {
            if (!JsonText.TryGetName(property, out var name))
            {
                errors.Add("body", $"has a field name that {JsonText.UnpairedSurrogate}");
                ambiguous = true;
            }
            else if (!seen.Add(name))
            {
                // JSON leaves duplicate names to the reader (last wins here); refuse rather than guess what was meant.
                errors.Add(name, "appears more than once; give each field once.");
                ambiguous = true;
            }
            else if (!Fields.Contains(name))
            {
                errors.Add(name, $"is not a field of a generation request (fields: {string.Join(", ", Fields)}).");
            }
        }

        if (ambiguous)
        {
            // Which value a duplicated or unreadable name stands for is unknown: read no value of such a body.
            return new ParseResult(null, errors);
        }

        var model = ReadModel(body, errors, out var unavailable);
        var prompts = ReadPrompts(body, errors);
        var count = prompts?.Count ?? 0;
        var prompts2 = ReadTexts(body, "prompt_2", count, errors, allowEmpty: false);
        var negatives = ReadTexts(body, "negative_prompt", count, errors, allowEmpty: true);
        var negatives2 = ReadTexts(body, "negative_prompt_2", count, errors, allowEmpty: true);
        var webhook = ReadWebhook(body, errors);
        var seed = ReadSeed(body, errors);
        var binning = ReadBool(body, "use_resolution_binning", errors) ?? false;
        var imagesPerPrompt = ReadInt(body, "num_images_per_prompt", errors) ?? 1;
        if (!errors.Has("num_images_per_prompt") && (imagesPerPrompt < 1 || imagesPerPrompt > _options.MaxImagesPerPrompt))
        {
            errors.Add("num_images_per_prompt", $"must be 1 to {_options.MaxImagesPerPrompt}, not {imagesPerPrompt}.");
        }

        if (prompts is not null && !errors.Has("num_images_per_prompt") && (long)count * imagesPerPrompt > _options.MaxImagesPerRequest)
        {
            errors.Add("num_images_per_prompt", $"{count} prompts × {imagesPerPrompt} images is more than the {_options.MaxImagesPerRequest} images a request may make.");
        }

        int steps = 0, width = 0, height = 0;
        float guidance = 0;
        IReadOnlyList<LoraChoice>? loras = null;
        IReadOnlyDictionary<string, JsonElement>? scheduler = null;
        if (model is not null)
        {
            var entry = model.Entry;
            steps = ReadInt(body, "num_inference_steps", errors) ?? entry.Steps;
            if (!errors.Has("num_inference_steps") && (steps < entry.MinSteps || steps > entry.MaxSteps))
            {
                errors.Add("num_inference_steps", entry.MinSteps == entry.MaxSteps
                    ? $"model '{entry.Name}' runs exactly {entry.MinSteps} step(s), not {steps}."
                    : $"model '{entry.Name}' takes {entry.MinSteps} to {entry.MaxSteps} steps, not {steps}.");
            }

            guidance = ReadFloat(body, "guidance_scale", errors) ?? entry.GuidanceScale;
            if (!errors.Has("guidance_scale") && (guidance < 0 || guidance > entry.MaxGuidanceScale))
            {
                errors.Add("guidance_scale", $"must be 0 to {entry.MaxGuidanceScale.ToString(CultureInfo.InvariantCulture)} for model '{entry.Name}', not {guidance.ToString(CultureInfo.InvariantCulture)}.");
            }

            width = ReadSide(body, "width", entry.Width ?? model.Geometry.DefaultSize, Math.Min(entry.MaxWidth, _options.MaxWidth), model, errors);
            height = ReadSide(body, "height", entry.Height ?? model.Geometry.DefaultSize, Math.Min(entry.MaxHeight, _options.MaxHeight), model, errors);
            CheckFamily(model, prompts2, negatives, negatives2, errors);
            loras = ReadLoras(body, model, errors);
            scheduler = ReadScheduler(body, model, errors);
            if (binning && model.Family != PipelineFamily.PixArt)
            {
                errors.Add("use_resolution_binning", $"is a PixArt option; '{model.Entry.Name}' is not a PixArt model.");
            }
        }

        if (!errors.IsEmpty || model is null || prompts is null)
        {
            return new ParseResult(null, errors, unavailable);
        }

        return new ParseResult(
            new GenerationSpec
            {
                Model = model.Entry.Name,
                Prompts = prompts,
                Prompts2 = prompts2,
                NegativePrompts = negatives,
                NegativePrompts2 = negatives2,
                NumInferenceSteps = steps,
                GuidanceScale = guidance,
                Width = width,
                Height = height,
                Seed = seed ?? (seedSource() & long.MaxValue),
                SeedWasGiven = seed is not null,
                NumImagesPerPrompt = imagesPerPrompt,
                WebhookUrl = webhook,
                UseResolutionBinning = binning,
                NoiseKernel = _options.NoiseKernel,
                Loras = loras,
                Scheduler = scheduler,
            },
            errors);
    }

    private ModelInfo? ReadModel(JsonElement body, ValidationErrors errors, out bool unavailable)
    {
        unavailable = false;
        if (!body.TryGetProperty("model", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            errors.Add("model", $"is required: one of {string.Join(", ", _models.Catalog.Entries.Select(e => e.Name).Order(StringComparer.Ordinal))}.");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add("model", $"must be a string, not {Describe(value)}.");
            return null;
        }

        if (!JsonText.TryGetString(value, out var name))
        {
            errors.Add("model", JsonText.UnpairedSurrogate);
            return null;
        }

        if (!_models.TryGetEntry(name, out var entry))
        {
            errors.Add("model", $"'{Shorten(name)}' is not a known model (known: {string.Join(", ", _models.Catalog.Entries.Select(e => e.Name).Order(StringComparer.Ordinal))}).");
            return null;
        }

        if (!string.Equals(entry.Name, name, StringComparison.Ordinal))
        {
            errors.Add("model", $"'{Shorten(name)}' is not a known model: model names are case-sensitive (did you mean '{entry.Name}'?).");
            return null;
        }

        try
        {
            return _models.Describe(entry);
        }
        catch (DiffusionException e)
        {
            unavailable = true;
            errors.Add("model", $"'{entry.Name}' is not installed on this service: {e.Message}");
            return null;
        }
    }

    private List<string>? ReadPrompts(JsonElement body, ValidationErrors errors)
    {
        var hasOne = body.TryGetProperty("prompt", out var one) && one.ValueKind != JsonValueKind.Null;
        var hasMany = body.TryGetProperty("prompts", out var many) && many.ValueKind != JsonValueKind.Null;
        if (hasOne == hasMany)
        {
            errors.Add(hasOne ? "prompts" : "prompt", hasOne ? "give either prompt or prompts, not both." : "is required (or prompts, a list of prompts).");
            return null;
        }

        var field = hasOne ? "prompt" : "prompts";
        var texts = hasOne ? ReadTextOrList(one, field, errors) : ReadList(many, field, errors);
        if (texts is null)
        {
            return null;
        }

        if (texts.Count == 0)
        {
            errors.Add(field, "must hold at least one prompt.");
            return null;
        }

        if (texts.Count > _options.MaxPromptsPerRequest)
        {
            errors.Add(field, $"holds {texts.Count} prompts; a request may hold at most {_options.MaxPromptsPerRequest}.");
            return null;
        }

        var ok = true;
        for (var i = 0; i < texts.Count; i++)
        {
            var name = hasOne ? field : $"{field}[{i}]";
            ok &= CheckText(texts[i], name, errors, allowEmpty: false);
        }

        return ok ? texts : null;
    }

    // prompt_2 / negative_prompt(_2): a string (used for every prompt) or a list with one entry per prompt.
    private List<string>? ReadTexts(JsonElement body, string field, int promptCount, ValidationErrors errors, bool allowEmpty)
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var texts = ReadTextOrList(value, field, errors);
        if (texts is null)
        {
            return null;
        }

        var ok = true;
        for (var i = 0; i < texts.Count; i++)
        {
            ok &= CheckText(texts[i], value.ValueKind == JsonValueKind.Array ? $"{field}[{i}]" : field, errors, allowEmpty);
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return ok && promptCount > 0 ? Enumerable.Repeat(texts[0], promptCount).ToList() : null;
        }

        if (promptCount > 0 && texts.Count != promptCount)
        {
            errors.Add(field, $"has {texts.Count} {(texts.Count == 1 ? "entry" : "entries")} but there are {promptCount} prompts: give a string (used for every prompt) or a list with one entry per prompt.");
            return null;
        }

        return ok && promptCount > 0 ? texts : null;
    }

    private static List<string>? ReadTextOrList(JsonElement value, string field, ValidationErrors errors)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            return ReadList(value, field, errors);
        }

        if (!JsonText.TryGetString(value, out var text))
        {
            errors.Add(field, JsonText.UnpairedSurrogate);
            return null;
        }

        return [text];
    }

    private static List<string>? ReadList(JsonElement value, string field, ValidationErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            errors.Add(field, $"must be a string or a list of strings, not {Describe(value)}.");
            return null;
        }

        var texts = new List<string>();
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                errors.Add($"{field}[{i}]", $"must be a string, not {Describe(item)}.");
                return null;
            }

            if (!JsonText.TryGetString(item, out var text))
            {
                errors.Add($"{field}[{i}]", JsonText.UnpairedSurrogate);
                return null;
            }

            texts.Add(text);
            i++;
        }

        return texts;
    }

    private bool CheckText(string text, string field, ValidationErrors errors, bool allowEmpty)
    {
        if (!allowEmpty && string.IsNullOrWhiteSpace(text))
        {
            errors.Add(field, "is empty: describe the image to generate.");
            return false;
        }

        if (text.Length > _options.MaxPromptLength)
        {
            errors.Add(field, $"is {text.Length} characters long; at most {_options.MaxPromptLength} are accepted.");
            return false;
        }

        if (text.Contains('\0', StringComparison.Ordinal))
        {
            // The prompt goes into the PNG's text chunks, where NUL separates keyword from text (PNG spec 11.3.4).
            errors.Add(field, $"contains a NUL character (U+0000) at position {text.IndexOf('\0', StringComparison.Ordinal)}; remove it.");
            return false;
        }

        return true;
    }

    private static void CheckFamily(ModelInfo model, List<string>? prompts2, List<string>? negatives, List<string>? negatives2, ValidationErrors errors)
    {
        if (model.Family != PipelineFamily.StableDiffusionXL)
        {
            if (prompts2 is not null)
            {
                errors.Add("prompt_2", $"is for SDXL models; '{model.Entry.Name}' has one text encoder.");
            }

            if (negatives2 is not null)
            {
                errors.Add("negative_prompt_2", $"is for SDXL models; '{model.Entry.Name}' has one text encoder.");
            }
        }

        if (model.Family == PipelineFamily.LatentConsistency && negatives is not null)
        {
            errors.Add("negative_prompt", $"'{model.Entry.Name}' is a latent consistency model, which takes no negative prompt.");
        }
    }

    private static int ReadSide(JsonElement body, string field, int fallback, int max, ModelInfo model, ValidationErrors errors)
    {
        var value = ReadInt(body, field, errors) ?? fallback;
        if (errors.Has(field))
        {
            return 0;
        }

        var multiple = Math.Max(8, model.Geometry.SizeMultiple);
        if (value % 8 != 0 || value % multiple != 0)
        {
            errors.Add(field, $"must be a multiple of {multiple} for model '{model.Entry.Name}', not {value}.");
        }
        else if (value < multiple || value > max)
        {
            errors.Add(field, $"must be {multiple} to {max} for model '{model.Entry.Name}', not {value}.");
        }

        return value;
    }

    private static long? ReadSeed(JsonElement body, ValidationErrors errors)
    {
        if (!body.TryGetProperty("seed", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seed) && seed >= 0)
        {
            return seed;
        }

        errors.Add("seed", $"must be an integer from 0 to {long.MaxValue} (a 64-bit signed integer), not {value.GetRawText()}.");
        return null;
    }

    private static int? ReadInt(JsonElement body, string field, ValidationErrors errors)
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number))
        {
            return number;
        }

        errors.Add(field, $"must be a whole number, not {value.GetRawText()}.");
        return null;
    }

    private static float? ReadFloat(JsonElement body, string field, ValidationErrors errors)
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number) && Math.Abs(number) <= float.MaxValue)
        {
            return (float)number;
        }

        errors.Add(field, $"must be a number, not {value.GetRawText()}.");
        return null;
    }

    private static bool? ReadBool(JsonElement body, string field, ValidationErrors errors)
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetBoolean();
        }

        errors.Add(field, $"must be true or false, not {value.GetRawText()}.");
        return null;
    }

    private string? ReadWebhook(JsonElement body, ValidationErrors errors)
    {
        if (!body.TryGetProperty("webhook_url", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || !JsonText.TryGetString(value, out var text) || text.Length > MaxWebhookLength
            || !Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            errors.Add("webhook_url", $"must be an absolute https URL of at most {MaxWebhookLength} characters.");
            return null;
        }

        // The address rules that need no DNS; the resolved addresses are checked by the caller (WebhookAddressPolicy).
        if (WebhookAddressPolicy.CheckSyntax(uri, _options.AllowLoopbackWebhooks) is { } problem)
        {
            errors.Add("webhook_url", problem);
            return null;
        }

        return uri.AbsoluteUri;
    }

    // Echoed names are cut short: a 1 MB "model" must not come back in full.
    private static string Shorten(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 61), "...");

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
