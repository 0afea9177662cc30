using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using FewStep.Functions.Options;
using FewStep.Onnx.Sessions;
using Microsoft.Extensions.Configuration;

namespace FewStep.Functions.Tests.Contract;

/// <summary>
/// host.json and local.settings.sample.json at the repository root agree with the app: durable settings present,
/// every setting the sample names exists on the options classes and binds, and nothing a local run needs is missing.
/// </summary>
public sealed partial class SettingsFilesTests
{
    private static readonly JsonDocumentOptions s_json = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    [Fact]
    public void Host_json_configures_durable_task_concurrency()
    {
        using var host = Read("host.json");
        var root = host.RootElement;

        Assert.Equal("2.0", root.GetProperty("version").GetString());
        Assert.True(root.TryGetProperty("extensions", out var extensions), "host.json has no extensions section.");
        Assert.True(extensions.TryGetProperty("durableTask", out var durable), "host.json has no extensions.durableTask section.");
        Assert.True(durable.TryGetProperty("maxConcurrentActivityFunctions", out var activities), "extensions.durableTask has no maxConcurrentActivityFunctions.");
        Assert.True(activities.ValueKind == JsonValueKind.Number && activities.GetInt32() >= 1, $"maxConcurrentActivityFunctions must be a positive number, not {activities.GetRawText()}.");
        Assert.True(durable.TryGetProperty("maxConcurrentOrchestratorFunctions", out var orchestrators) && orchestrators.GetInt32() >= 1);
        Assert.False(string.IsNullOrWhiteSpace(durable.GetProperty("hubName").GetString()));
    }

    [Fact]
    public void Host_json_lets_a_crashed_workers_batch_be_retried_within_a_minute()
    {
        using var host = Read("host.json");
        var storage = host.RootElement.GetProperty("extensions").GetProperty("durableTask").GetProperty("storageProvider");

        // The engine renews a running activity's message every 5 s once it has under 30 s left, so any timeout of
        // 15 s or more keeps a long batch from running twice, and the timeout is how long a dead worker's batch waits.
        foreach (var name in new[] { "workItemQueueVisibilityTimeout", "controlQueueVisibilityTimeout" })
        {
            var timeout = TimeSpan.Parse(storage.GetProperty(name).GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(timeout, TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(1));
        }

        var polling = TimeSpan.Parse(storage.GetProperty("maxQueuePollingInterval").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(polling, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Host_json_runs_bookkeeping_beside_the_gpu_batches_and_keeps_the_logs_quiet()
    {
        using var host = Read("host.json");
        var root = host.RootElement;

        // GPU work is limited by FewStep:MaxConcurrentRenders (the fair gate), not by the activity slots.
        Assert.True(root.GetProperty("extensions").GetProperty("durableTask").GetProperty("maxConcurrentActivityFunctions").GetInt32() >= 16);
        var levels = root.GetProperty("logging").GetProperty("logLevel");
        foreach (var category in new[] { "default", "Azure.Core", "Host.Triggers.DurableTask", "DurableTask.AzureStorage", "DurableTask.Core", "Function" })
        {
            Assert.True(levels.TryGetProperty(category, out var level), $"host.json logging.logLevel has no '{category}'.");
            Assert.Contains(level.GetString(), new[] { "Warning", "Error", "Critical", "None" });
        }

        Assert.Equal("Information", levels.GetProperty("FewStep").GetString());
    }

    [Fact]
    public void Sample_settings_run_the_isolated_worker_against_azurite()
    {
        var values = SampleValues();

        Assert.Equal("UseDevelopmentStorage=true", values.GetValueOrDefault("AzureWebJobsStorage"));
        Assert.Equal("dotnet-isolated", values.GetValueOrDefault("FUNCTIONS_WORKER_RUNTIME"));
    }

    [Fact]
    public void Every_app_setting_in_the_sample_exists_on_the_options()
    {
        var values = SampleValues();
        var sections = new Dictionary<string, Type>(StringComparer.Ordinal)
        {
            [FewStepOptions.SectionName] = typeof(FewStepOptions),
            [OnnxExecutionOptions.SectionName] = typeof(OnnxExecutionOptions),
        };

        var unknown = new List<string>();
        foreach (var name in values.Keys)
        {
            var parts = name.Split("__");
            var section = sections.Keys.FirstOrDefault(s => string.Equals(s, parts[0], StringComparison.OrdinalIgnoreCase));
            if (section is null)
            {
                continue;
            }

            var property = parts.Length == 2
                ? sections[section].GetProperty(parts[1], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)
                : null;
            if (property is null || !property.CanWrite)
            {
                unknown.Add(name);
            }
        }

        Assert.True(unknown.Count == 0, $"local.settings.sample.json names settings the app does not have: {string.Join(", ", unknown)}.");
    }

    [Fact]
    public void Sample_values_bind_to_the_options()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(SampleValues().Select(v => KeyValuePair.Create(v.Key.Replace("__", ":", StringComparison.Ordinal), (string?)v.Value)))
            .Build();

        // Throws on a value of the wrong type, and on a name the options class lacks.
        var fewStep = configuration.GetSection(FewStepOptions.SectionName).Get<FewStepOptions>(o => o.ErrorOnUnknownConfiguration = true);
        var onnx = configuration.GetSection(OnnxExecutionOptions.SectionName).Get<OnnxExecutionOptions>(o => o.ErrorOnUnknownConfiguration = true);

        Assert.NotNull(fewStep);
        Assert.NotNull(onnx);
        Assert.Empty(onnx!.Validate());
        // ModelRoot is a placeholder the developer points at their model folder; everything else must validate as is.
        var problems = fewStep!.Validate().Where(e => !e.Contains(nameof(FewStepOptions.ModelRoot), StringComparison.Ordinal)).ToList();
        Assert.True(problems.Count == 0, string.Join(" ", problems));
    }

    [Fact]
    public void Sample_has_every_setting_a_local_run_needs()
    {
        var values = SampleValues();

        // Required at start-up (FewStepOptions.Validate): where the models are.
        Assert.True(values.ContainsKey($"{FewStepOptions.SectionName}__{nameof(FewStepOptions.ModelRoot)}"), "local.settings.sample.json lacks FewStep__ModelRoot.");

        // Every %SETTING% host.json refers to.
        var host = File.ReadAllText(RepositoryFiles.At("host.json"));
        var referenced = AppSettingReference().Matches(host).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.All(referenced, name => Assert.True(values.ContainsKey(name), $"host.json uses %{name}% but local.settings.sample.json does not define it."));
    }

    [Fact]
    public void Sample_is_not_encrypted_and_holds_only_strings()
    {
        using var sample = Read("local.settings.sample.json");

        Assert.False(sample.RootElement.GetProperty("IsEncrypted").GetBoolean());
        Assert.All(sample.RootElement.GetProperty("Values").EnumerateObject(), v => Assert.Equal(JsonValueKind.String, v.Value.ValueKind));
    }

    private static Dictionary<string, string> SampleValues()
    {
        using var sample = Read("local.settings.sample.json");
        return sample.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(v => v.Name, v => v.Value.ValueKind == JsonValueKind.String ? v.Value.GetString()! : v.Value.GetRawText(), StringComparer.Ordinal);
    }

    private static JsonDocument Read(string name)
    {
        var path = RepositoryFiles.At(name);
        Assert.True(File.Exists(path), $"{path} is missing.");
        return JsonDocument.Parse(File.ReadAllText(path), s_json);
    }

    [GeneratedRegex("%([A-Za-z0-9_]+)%")]
    private static partial Regex AppSettingReference();
}
