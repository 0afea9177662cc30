using System.Globalization;
using System.Text.Json;
using FewStep.Diffusion;
using FewStep.Diffusion.Catalog;
using FewStep.Diffusion.Configuration;
using FewStep.Diffusion.Schedulers;
using FewStep.Functions.Contracts;
using FewStep.Functions.Rendering;

namespace FewStep.Functions.Validation;

/// <summary>The <c>loras</c> and <c>scheduler</c> fields: what a request adds to its model's weights and scheduler.</summary>
public sealed partial class GenerationRequestParser
{
    /// <summary>LoRA scales outside this range are refused as mistakes (diffusers takes any; useful ones are about −2 to 2).</summary>
    public const float MaxLoraScale = 8f;

    // The model's bundled LoRAs (catalog) first, then the request's: all must fit the model. Null when there are none.
    private List<LoraChoice>? ReadLoras(JsonElement body, ModelInfo model, ValidationErrors errors)
    {
        var bundled = (model.Entry.Loras ?? []).Select(l => new LoraChoice(l.Name, l.Scale)).ToList();
        var requested = new List<LoraChoice>();
        if (body.TryGetProperty("loras", out var value) && value.ValueKind != JsonValueKind.Null)
        {
            if (value.ValueKind != JsonValueKind.Array)
            {
                errors.Add("loras", $"must be a list of {{\"name\": ..., \"scale\": ...}} objects, not {Describe(value)}.");
                return null;
            }

            if (value.GetArrayLength() > _options.MaxLorasPerRequest)
            {
                errors.Add("loras", $"names {value.GetArrayLength()} LoRAs; a request may name at most {_options.MaxLorasPerRequest}.");
                return null;
            }

            var index = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (ReadLora(item, $"loras[{index}]", errors) is { } lora)
                {
                    if (requested.Any(r => r.Name == lora.Name) || bundled.Any(b => b.Name == lora.Name))
                    {
                        errors.Add($"loras[{index}].name", $"'{lora.Name}' is named twice (the model '{model.Entry.Name}' may already bundle it); give each LoRA once.");
                    }
                    else
                    {
                        requested.Add(lora);
                    }
                }

                index++;
            }
        }

        var all = bundled.Concat(requested).ToList();
        if (all.Count == 0)
        {
            return null;
        }

        if (model.Family == PipelineFamily.PixArt)
        {
            errors.Add("loras", $"model '{model.Entry.Name}' is a PixArt model; LoRAs are merged into SD, SDXL and LCM models only.");
            return null;
        }

        for (var i = 0; i < all.Count; i++)
        {
            var field = i < bundled.Count ? "model" : $"loras[{i - bundled.Count}].name";
            var lora = all[i];
            var path = _models.ResolveLora(lora.Name);
            if (path is null)
            {
                var installed = _models.InstalledLoras();
                errors.Add(field, i < bundled.Count
                    ? $"model '{model.Entry.Name}' needs the LoRA '{lora.Name}', which is not installed on this service (pull it with 'fewstep models pull {lora.Name}')."
                    : $"'{Shorten(lora.Name)}' is not an installed LoRA (installed: {(installed.Count == 0 ? "none" : string.Join(", ", installed))}).");
                continue;
            }

            if (_models.LoraMismatch(model, path) is { } mismatch)
            {
                errors.Add(field, $"LoRA '{lora.Name}' does not fit model '{model.Entry.Name}': {mismatch}");
            }
        }

        return all;
    }

    private static LoraChoice? ReadLora(JsonElement item, string field, ValidationErrors errors)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            errors.Add(field, $"must be an object {{\"name\": ..., \"scale\": ...}}, not {Describe(item)}.");
            return null;
        }

        string? name = null;
        float scale = 1f;
        var ok = true;
        foreach (var property in item.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name" when property.Value.ValueKind == JsonValueKind.String && JsonText.TryGetString(property.Value, out var text):
                    name = text;
                    break;
                case "name":
                    errors.Add($"{field}.name", $"must be a string, not {Describe(property.Value)}.");
                    ok = false;
                    break;
                case "scale" when property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetDouble(out var number)
                    && double.IsFinite(number) && Math.Abs(number) <= MaxLoraScale:
                    scale = (float)number;
                    break;
                case "scale" when property.Value.ValueKind == JsonValueKind.Null:
                    break;
                case "scale":
                    errors.Add($"{field}.scale", string.Create(CultureInfo.InvariantCulture, $"must be a number from -{MaxLoraScale} to {MaxLoraScale}, not {property.Value.GetRawText()}."));
                    ok = false;
                    break;
                default:
                    errors.Add($"{field}.{property.Name}", "is not a field of a LoRA (fields: name, scale).");
                    ok = false;
                    break;
            }
        }

        if (name is null)
        {
            if (ok)
            {
                errors.Add($"{field}.name", "is required: the name of an installed LoRA.");
            }

            return null;
        }

        if (!LoraNames.IsValid(name))
        {
            // Names only: a client must never be able to point the service at a file of its choosing.
            errors.Add($"{field}.name", $"'{Shorten(name)}' is not a LoRA name: use letters, digits, '.', '_' and '-' (at most {LoraNames.MaxLength}); paths are not accepted.");
            return null;
        }

        return ok ? new LoraChoice(name, scale) : null;
    }

    // The request's scheduler, else the catalog model's; checked against the folder's config by building it.
    private static IReadOnlyDictionary<string, JsonElement>? ReadScheduler(JsonElement body, ModelInfo model, ValidationErrors errors)
    {
        IReadOnlyDictionary<string, JsonElement>? scheduler = model.Entry.Scheduler;
        if (body.TryGetProperty("scheduler", out var value) && value.ValueKind != JsonValueKind.Null)
        {
            if (value.ValueKind != JsonValueKind.Object)
            {
                errors.Add("scheduler", $"must be an object such as {{\"_class_name\": \"LCMScheduler\"}}, not {Describe(value)}.");
                return null;
            }

            var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in value.EnumerateObject())
            {
                if (!SchedulerConfig.KnownKeys.Contains(property.Name))
                {
                    errors.Add($"scheduler.{Shorten(property.Name)}", $"is not a scheduler config field (fields: {string.Join(", ", SchedulerConfig.KnownKeys.Order(StringComparer.Ordinal))}).");
                    return null;
                }

                fields[property.Name] = property.Value.Clone();
            }

            scheduler = fields;
        }

        if (scheduler is null)
        {
            return null;
        }

        try
        {
            SchedulerReplacement.Validate(Path.Combine(model.Folder, "scheduler", "scheduler_config.json"), scheduler, model.Entry.SchedulerOverrides);
        }
        catch (DiffusionException e)
        {
            errors.Add("scheduler", e.Message);
            return null;
        }

        return scheduler;
    }
}
