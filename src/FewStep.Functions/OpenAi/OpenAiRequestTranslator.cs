using System.Globalization;
using System.Text.Json;
using FewStep.Functions.Options;
using FewStep.Functions.Rendering;
using FewStep.Functions.Triggers;
using FewStep.Functions.Validation;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.OpenAi;

/// <summary>
/// Reads an OpenAI <c>POST /v1/images/generations</c> body into the app's own generation request, so it is checked
/// by exactly the rules <c>POST /api/generations</c> applies. The OpenAI fields that mean nothing to a diffusion model
/// are accepted at their defaults (or at a value FewStep honours anyway) and refused otherwise, naming the field;
/// a field OpenAI does not have, and FewStep does not add, is refused as OpenAI refuses one.
/// </summary>
public sealed class OpenAiRequestTranslator
{
    /// <summary>FewStep's extras, accepted as LocalAI accepts them and passed through unchanged.</summary>
    private static readonly string[] s_extras = ["negative_prompt", "seed", "num_inference_steps", "guidance_scale"];

    /// <summary>Each OpenAI option FewStep cannot vary, with the values it honours (null: the field left out or null).</summary>
    private static readonly Dictionary<string, (string[] Accepted, string Why)> s_fixed = new(StringComparer.Ordinal)
    {
        ["quality"] = (["auto", "standard"], "FewStep renders at the model's own quality; steps and guidance are set with num_inference_steps and guidance_scale"),
        ["style"] = (["vivid"], "a diffusion model has no style switch; describe the style in the prompt"),
        ["background"] = (["auto", "opaque"], "FewStep writes opaque PNGs"),
        ["output_format"] = (["png"], "FewStep writes PNG"),
        ["moderation"] = (["auto", "low"], "FewStep does not moderate prompts"),
    };

    private static readonly HashSet<string> s_fields = new(StringComparer.Ordinal)
    {
        "prompt", "model", "n", "size", "response_format", "user", "output_compression", "stream", "partial_images",
        "negative_prompt", "seed", "num_inference_steps", "guidance_scale", "quality", "style", "background", "output_format", "moderation",
    };

    private readonly ModelRegistry _models;
    private readonly FewStepOptions _options;

    public OpenAiRequestTranslator(ModelRegistry models, IOptions<FewStepOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _models = models;
        _options = options.Value;
    }

    /// <summary>The translated request, or the OpenAI-shaped error (400 naming <c>param</c>, 404 for an unknown model).</summary>
    public (OpenAiImageRequest? Request, ApiResult? Error) Translate(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, OpenAiErrors.Invalid("body", $"The request body must be a JSON object, not {body.ValueKind.ToString().ToLowerInvariant()}."));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in body.EnumerateObject())
        {
            if (!JsonText.TryGetName(property, out var name))
            {
                return (null, OpenAiErrors.Invalid("body", $"A field name {JsonText.UnpairedSurrogate}"));
            }

            if (!seen.Add(name))
            {
                return (null, OpenAiErrors.Invalid(name, $"'{name}' appears more than once; give each field once."));
            }

            if (!s_fields.Contains(name))
            {
                return (null, OpenAiErrors.Invalid(name, $"Unrecognized request argument supplied: {name} (FewStep accepts: {string.Join(", ", s_fields)})."));
            }
        }

        if (Problem(body) is { } problem)
        {
            return (null, problem);
        }

        var model = ReadString(body, "model") ?? (string.IsNullOrEmpty(_options.DefaultModel) ? null : _options.DefaultModel);
        if (model is null)
        {
            return (null, OpenAiErrors.Invalid("model", $"model is required (this service has no default model): one of {string.Join(", ", _models.InstalledModels())}."));
        }

        if (!_models.TryGetEntry(model, out var entry) || !string.Equals(entry.Name, model, StringComparison.Ordinal))
        {
            return (null, OpenAiErrors.ModelNotFound($"The model '{Shorten(model)}' does not exist on this service (models: {string.Join(", ", _models.InstalledModels())})."));
        }

        var size = ReadString(body, "size");
        int? width = null, height = null;
        if (size is not null and not "auto")
        {
            if (!TryParseSize(size, out var w, out var h))
            {
                return (null, OpenAiErrors.Invalid("size", $"size must be 'WIDTHxHEIGHT' in pixels (for example '512x512') or 'auto', not '{Shorten(size)}'."));
            }

            (width, height) = (w, h);
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("model", entry.Name);
            writer.WriteString("prompt", ReadString(body, "prompt"));
            if (body.TryGetProperty("n", out var n) && n.ValueKind != JsonValueKind.Null)
            {
                writer.WritePropertyName("num_images_per_prompt");
                n.WriteTo(writer);
            }

            if (width is { } wide && height is { } high)
            {
                writer.WriteNumber("width", wide);
                writer.WriteNumber("height", high);
            }

            foreach (var extra in s_extras)
            {
                if (body.TryGetProperty(extra, out var value) && value.ValueKind != JsonValueKind.Null)
                {
                    writer.WritePropertyName(extra);
                    value.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        var format = ReadString(body, "response_format") ?? "url";
        return (new OpenAiImageRequest(JsonDocument.Parse(buffer.ToArray()), format == "b64_json", ReadString(body, "user")), null);
    }

    /// <summary>
    /// The OpenAI parameter a field of the translated request stands for, for the errors of the shared parser:
    /// <c>num_images_per_prompt</c> is <c>n</c>, <c>width</c> and <c>height</c> are <c>size</c>.
    /// </summary>
    public static string ParamFor(string field) => field switch
    {
        "num_images_per_prompt" => "n",
        "width" or "height" => "size",
        _ => field,
    };

    // Types and fixed values, before anything is read: every string is checked readable here.
    private ApiResult? Problem(JsonElement body)
    {
        foreach (var field in (string[])["prompt", "model", "size", "response_format", "user", .. s_fixed.Keys])
        {
            if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                return OpenAiErrors.Invalid(field, $"{field} must be a string, not {value.ValueKind.ToString().ToLowerInvariant()}.");
            }

            if (!JsonText.TryGetString(value, out _))
            {
                return OpenAiErrors.Invalid(field, $"{field} {JsonText.UnpairedSurrogate}");
            }
        }

        if (ReadString(body, "prompt") is null)
        {
            return OpenAiErrors.Invalid("prompt", "prompt is required: describe the image to generate.");
        }

        if (body.TryGetProperty("n", out var n) && n.ValueKind != JsonValueKind.Null)
        {
            if (n.ValueKind != JsonValueKind.Number || !n.TryGetInt32(out var count) || count < 1 || count > _options.OpenAiMaxImages)
            {
                return OpenAiErrors.Invalid("n", $"n must be an integer from 1 to {_options.OpenAiMaxImages}, not {n.GetRawText()}.");
            }
        }

        if (ReadString(body, "response_format") is { } format && format is not "url" and not "b64_json")
        {
            return OpenAiErrors.Invalid("response_format", $"response_format must be 'url' or 'b64_json', not '{Shorten(format)}'.");
        }

        foreach (var (field, (accepted, why)) in s_fixed)
        {
            if (ReadString(body, field) is { } value && !accepted.Contains(value, StringComparer.Ordinal))
            {
                return OpenAiErrors.Invalid(field, $"{field} '{Shorten(value)}' cannot be honoured: {why} (accepted: {string.Join(", ", accepted)}).");
            }
        }

        if (body.TryGetProperty("output_compression", out var compression) && compression.ValueKind != JsonValueKind.Null
            && !(compression.ValueKind == JsonValueKind.Number && compression.TryGetInt32(out var level) && level == 100))
        {
            return OpenAiErrors.Invalid("output_compression", "output_compression applies to jpeg and webp output; FewStep writes lossless PNG (accepted: 100).");
        }

        if (body.TryGetProperty("stream", out var stream) && stream.ValueKind is not JsonValueKind.Null and not JsonValueKind.False)
        {
            return OpenAiErrors.Invalid("stream", "stream is not supported: the answer comes when the images are done (previews are on the status URL of POST /api/generations).");
        }

        if (body.TryGetProperty("partial_images", out var partial) && partial.ValueKind != JsonValueKind.Null
            && !(partial.ValueKind == JsonValueKind.Number && partial.TryGetInt32(out var partials) && partials == 0))
        {
            return OpenAiErrors.Invalid("partial_images", "partial_images needs streaming, which is not supported (accepted: 0).");
        }

        return null;
    }

    private static string? ReadString(JsonElement body, string field) =>
        body.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String && JsonText.TryGetString(value, out var text) ? text : null;

    private static bool TryParseSize(string size, out int width, out int height)
    {
        width = height = 0;
        var x = size.IndexOfAny(['x', 'X']);
        return x > 0
            && int.TryParse(size.AsSpan(0, x), NumberStyles.None, CultureInfo.InvariantCulture, out width)
            && int.TryParse(size.AsSpan(x + 1), NumberStyles.None, CultureInfo.InvariantCulture, out height)
            && width > 0 && height > 0;
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");
}
