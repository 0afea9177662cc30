using System.Text.Json;

namespace FewStep.Diffusion.Schedulers;

/// <summary>
/// A scheduler that replaces a model folder's: <c>_class_name</c> and any config fields laid over the folder's
/// <c>scheduler_config.json</c>, as diffusers' <c>LCMScheduler.from_config(pipe.scheduler.config)</c> does (LCM-LoRA on
/// a model that ships Euler). Fields the new class does not use are ignored by it, as in diffusers.
/// </summary>
public static class SchedulerReplacement
{
    public const string ClassField = "_class_name";

    /// <summary>
    /// The folder's config with <paramref name="replacement"/> and then <paramref name="overrides"/> laid over it;
    /// errors name the field. A null or empty replacement keeps the folder's class.
    /// </summary>
    public static SchedulerConfig Apply(
        string folderJson,
        string folderPath,
        IReadOnlyDictionary<string, JsonElement>? replacement,
        IReadOnlyDictionary<string, JsonElement>? overrides)
    {
        if (replacement is not { Count: > 0 })
        {
            return SchedulerConfig.Parse(folderJson, folderPath, overrides is { Count: > 0 } ? overrides : null);
        }

        if (!replacement.TryGetValue(ClassField, out var className) || className.ValueKind != JsonValueKind.String
            || !SchedulerFactory.SupportedClasses.Contains(className.GetString()))
        {
            throw new DiffusionException(
                $"scheduler.{ClassField} must name the scheduler class that replaces the model's: one of {string.Join(", ", SchedulerFactory.SupportedClasses)}.");
        }

        var merged = new Dictionary<string, JsonElement>(replacement, StringComparer.Ordinal);
        foreach (var (key, value) in overrides ?? new Dictionary<string, JsonElement>())
        {
            merged[key] = value;
        }

        return SchedulerConfig.Parse(folderJson, $"{folderPath} replaced by {className.GetString()}", merged);
    }

    /// <summary>Checks a replacement against a folder's config by building the scheduler; errors name the field.</summary>
    public static void Validate(string folderConfigPath, IReadOnlyDictionary<string, JsonElement> replacement, IReadOnlyDictionary<string, JsonElement>? overrides)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        SchedulerFactory.Create(Apply(File.ReadAllText(folderConfigPath), folderConfigPath, replacement, overrides));
    }
}
