using System.Collections.Frozen;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Schedulers;

/// <summary>
/// A diffusers <c>scheduler_config.json</c>, key for key: the union of the <c>__init__</c> arguments of
/// <c>EulerDiscreteScheduler</c>, <c>EulerAncestralDiscreteScheduler</c> and <c>LCMScheduler</c> (diffusers 0.27.2).
/// A missing key takes diffusers' default. Where the three classes disagree on a default
/// (<c>beta_start</c>, <c>beta_end</c>, <c>beta_schedule</c>, <c>timestep_spacing</c>) the property is null when the
/// file does not set it, and the scheduler applies its own class's default, as its diffusers <c>__init__</c> does.
/// Keys of other scheduler classes (e.g. <c>skip_prk_steps</c>) are ignored, as diffusers ignores them.
/// </summary>
public sealed record SchedulerConfig
{
    private const string DefaultSource = "scheduler config";

    private static readonly JsonSerializerOptions s_jsonOptions = new()
    {
        // Exact keys, as diffusers' ConfigMixin matches them.
        PropertyNameCaseInsensitive = false,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>Every JSON key this record maps (the keys an override may set).</summary>
    public static IReadOnlySet<string> KnownKeys { get; } = typeof(SchedulerConfig)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name)
        .OfType<string>()
        .ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The diffusers scheduler class (<see cref="SchedulerFactory"/> keys on it).</summary>
    [JsonPropertyName("_class_name")]
    public string? ClassName { get; init; }

    [JsonPropertyName("_diffusers_version")]
    public string? DiffusersVersion { get; init; }

    [JsonPropertyName("num_train_timesteps")]
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary>null: the class default (Euler 0.0001, LCM 0.00085).</summary>
    [JsonPropertyName("beta_start")]
    public double? BetaStart { get; init; }

    /// <summary>null: the class default (Euler 0.02, LCM 0.012).</summary>
    [JsonPropertyName("beta_end")]
    public double? BetaEnd { get; init; }

    /// <summary><c>linear</c>, <c>scaled_linear</c> or <c>squaredcos_cap_v2</c>; null: the class default (Euler <c>linear</c>, LCM <c>scaled_linear</c>).</summary>
    [JsonPropertyName("beta_schedule")]
    public string? BetaSchedule { get; init; }

    /// <summary>Betas given directly; when set, they replace <c>beta_schedule</c>.</summary>
    [JsonPropertyName("trained_betas")]
    public IReadOnlyList<double>? TrainedBetas { get; init; }

    /// <summary><c>epsilon</c>, <c>v_prediction</c> or <c>sample</c>.</summary>
    [JsonPropertyName("prediction_type")]
    public string PredictionType { get; init; } = "epsilon";

    /// <summary><c>linspace</c>, <c>leading</c> or <c>trailing</c>; null: the class default (Euler <c>linspace</c>, LCM <c>leading</c>).</summary>
    [JsonPropertyName("timestep_spacing")]
    public string? TimestepSpacing { get; init; }

    [JsonPropertyName("steps_offset")]
    public int StepsOffset { get; init; }

    [JsonPropertyName("rescale_betas_zero_snr")]
    public bool RescaleBetasZeroSnr { get; init; }

    /// <summary>EulerDiscrete: <c>linear</c> or <c>log_linear</c>.</summary>
    [JsonPropertyName("interpolation_type")]
    public string InterpolationType { get; init; } = "linear";

    /// <summary>EulerDiscrete: Karras et al. (2022) sigmas.</summary>
    [JsonPropertyName("use_karras_sigmas")]
    public bool UseKarrasSigmas { get; init; }

    /// <summary>EulerDiscrete, Karras sigmas: the smallest sigma; null: the schedule's.</summary>
    [JsonPropertyName("sigma_min")]
    public double? SigmaMin { get; init; }

    /// <summary>EulerDiscrete, Karras sigmas: the largest sigma; null: the schedule's.</summary>
    [JsonPropertyName("sigma_max")]
    public double? SigmaMax { get; init; }

    /// <summary>EulerDiscrete: <c>discrete</c> or <c>continuous</c> (continuous applies with <c>v_prediction</c> only).</summary>
    [JsonPropertyName("timestep_type")]
    public string TimestepType { get; init; } = "discrete";

    /// <summary>LCM: the length of the distillation schedule the inference timesteps are taken from.</summary>
    [JsonPropertyName("original_inference_steps")]
    public int OriginalInferenceSteps { get; init; } = 50;

    /// <summary>LCM: clamp the x0 prediction to [-clip_sample_range, clip_sample_range].</summary>
    [JsonPropertyName("clip_sample")]
    public bool ClipSample { get; init; }

    [JsonPropertyName("clip_sample_range")]
    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary>LCM: alpha_cumprod before the first training step is 1 (otherwise alphas_cumprod[0]).</summary>
    [JsonPropertyName("set_alpha_to_one")]
    public bool SetAlphaToOne { get; init; } = true;

    /// <summary>LCM: dynamic thresholding (not supported by FewStep: it needs the batch layout).</summary>
    [JsonPropertyName("thresholding")]
    public bool Thresholding { get; init; }

    [JsonPropertyName("dynamic_thresholding_ratio")]
    public double DynamicThresholdingRatio { get; init; } = 0.995;

    [JsonPropertyName("sample_max_value")]
    public double SampleMaxValue { get; init; } = 1.0;

    /// <summary>LCM: the timestep multiplier in the boundary-condition scalings c_skip and c_out.</summary>
    [JsonPropertyName("timestep_scaling")]
    public double TimestepScaling { get; init; } = 10.0;

    /// <summary>Where this config came from (a file path or a caller's name); error messages start with it.</summary>
    [JsonIgnore]
    public string Source { get; init; } = DefaultSource;

    /// <summary>
    /// Reads a <c>scheduler_config.json</c> and applies <paramref name="overrides"/> (JSON values by key) on top,
    /// as diffusers' <c>from_pretrained(..., **kwargs)</c> does.
    /// </summary>
    /// <exception cref="DiffusionException">The file is missing or malformed, a field has the wrong type, or an
    /// override names a key that is not a scheduler config field. The message names the file.</exception>
    public static SchedulerConfig Load(string path, IReadOnlyDictionary<string, JsonElement>? overrides = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new DiffusionException($"Scheduler config file not found: '{path}'.");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DiffusionException($"Cannot read scheduler config file '{path}': {ex.Message}", ex);
        }

        return Parse(text, path, overrides);
    }

    /// <summary>Builds a config from a JSON object (e.g. the <c>config</c> of a conformance vector).</summary>
    public static SchedulerConfig Parse(JsonElement json, string sourceName, IReadOnlyDictionary<string, JsonElement>? overrides = null) =>
        Parse(json.GetRawText(), sourceName, overrides);

    /// <summary>Builds a config from JSON text; <paramref name="sourceName"/> names it in error messages.</summary>
    public static SchedulerConfig Parse(string json, string sourceName, IReadOnlyDictionary<string, JsonElement>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentException.ThrowIfNullOrEmpty(sourceName);

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new DiffusionException($"Scheduler config '{sourceName}' is not valid JSON: {ex.Message}", ex);
        }

        if (root is not JsonObject obj)
        {
            throw new DiffusionException($"Scheduler config '{sourceName}' must be a JSON object.");
        }

        if (overrides is not null)
        {
            foreach (var (key, value) in overrides)
            {
                if (!KnownKeys.Contains(key))
                {
                    throw new DiffusionException(
                        $"Scheduler config override '{key}' (for '{sourceName}') is not a scheduler config field; " +
                        $"known fields: {string.Join(", ", KnownKeys.Order(StringComparer.Ordinal))}.");
                }

                obj[key] = JsonNode.Parse(value.GetRawText());
            }
        }

        try
        {
            var config = obj.Deserialize<SchedulerConfig>(s_jsonOptions)
                ?? throw new DiffusionException($"Scheduler config '{sourceName}' is null.");
            return config with { Source = sourceName };
        }
        catch (JsonException ex)
        {
            var field = ex.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : ex.Path;
            var value = field is not null && obj.TryGetPropertyValue(field, out var node) ? node?.ToJsonString() ?? "null" : "?";
            throw new DiffusionException(
                $"Scheduler config '{sourceName}': field '{field}' has a value of the wrong type ({value}): {ex.Message}", ex);
        }
    }

    internal DiffusionException Unsupported(string field, string? value, params string[] supported) =>
        new($"Scheduler config '{Source}': {field} '{value ?? "null"}' is not supported; supported: {string.Join(", ", supported)}.");

    internal DiffusionException Invalid(string field, FormattableString problem) =>
        new($"Scheduler config '{Source}': {field} {problem.ToString(CultureInfo.InvariantCulture)}.");
}
