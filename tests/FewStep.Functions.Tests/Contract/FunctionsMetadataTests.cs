using System.Reflection;
using System.Text.Json;
using FewStep.Functions.Triggers;
using FewStep.Tests;
using Microsoft.Azure.Functions.Worker;

namespace FewStep.Functions.Tests.Contract;

/// <summary>
/// The functions the Functions host will index, read from the <c>functions.metadata</c> the build writes: the
/// exact set, their triggers, routes and bindings. A new or renamed function must update this test on purpose.
/// </summary>
public sealed class FunctionsMetadataTests
{
    private const string MetadataFile = "functions.metadata";

    private static readonly Lazy<(string Path, JsonElement Functions)> s_metadata = new(Load);

    private static readonly Dictionary<string, string> s_expectedTriggers = new(StringComparer.Ordinal)
    {
        ["StartGeneration"] = "httpTrigger",
        ["GetGeneration"] = "httpTrigger",
        ["CancelGeneration"] = "httpTrigger",
        ["RenderRun"] = "orchestrationTrigger",
        ["PlanJob"] = "activityTrigger",
        ["RenderBatch"] = "activityTrigger",
        ["WriteManifest"] = "activityTrigger",
        ["NotifyWebhook"] = "activityTrigger",
        ["SubmitJob"] = "blobTrigger",
        ["SubmitJobFromEventGrid"] = "blobTrigger",
        ["GetJob"] = "httpTrigger",
        ["CheckFunctionKey"] = "httpTrigger",
        ["OpenAiCreateImage"] = "httpTrigger",
        ["OpenAiListModels"] = "httpTrigger",
        ["Playground"] = "httpTrigger",
        ["PlaygroundAsset"] = "httpTrigger",
    };

    private static JsonElement Functions => s_metadata.Value.Functions;

    [Fact]
    public void Exactly_the_expected_functions_are_declared()
    {
        var names = Functions.EnumerateArray().Select(f => f.GetProperty("name").GetString()!).ToList();

        Assert.True(names.Count == names.Distinct(StringComparer.OrdinalIgnoreCase).Count(), $"duplicate function names in {s_metadata.Value.Path}: {string.Join(", ", names)}");
        var unexpected = names.Except(s_expectedTriggers.Keys, StringComparer.Ordinal).ToList();
        var missing = s_expectedTriggers.Keys.Except(names, StringComparer.Ordinal).ToList();
        Assert.True(unexpected.Count == 0 && missing.Count == 0,
            $"{s_metadata.Value.Path}: unexpected functions [{string.Join(", ", unexpected)}], missing [{string.Join(", ", missing)}]. " +
            "A new, renamed or removed function must be reflected in this test deliberately.");
    }

    [Theory]
    [InlineData("StartGeneration")]
    [InlineData("GetGeneration")]
    [InlineData("CancelGeneration")]
    [InlineData("RenderRun")]
    [InlineData("PlanJob")]
    [InlineData("RenderBatch")]
    [InlineData("WriteManifest")]
    [InlineData("NotifyWebhook")]
    [InlineData("SubmitJob")]
    [InlineData("SubmitJobFromEventGrid")]
    [InlineData("GetJob")]
    [InlineData("CheckFunctionKey")]
    [InlineData("OpenAiCreateImage")]
    [InlineData("OpenAiListModels")]
    [InlineData("Playground")]
    [InlineData("PlaygroundAsset")]
    public void Each_function_has_exactly_one_trigger_of_its_kind_in_the_app_assembly(string name)
    {
        var function = Function(name);

        Assert.Equal("FewStep.Functions.dll", function.GetProperty("scriptFile").GetString());
        Assert.Equal("dotnet-isolated", function.GetProperty("language").GetString());
        var triggers = Bindings(function).Where(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal)).ToList();
        var trigger = Assert.Single(triggers);
        Assert.Equal(s_expectedTriggers[name], trigger.GetProperty("type").GetString());
        Assert.Equal("In", trigger.GetProperty("direction").GetString());

        // The entry point is a method of the app marked [Function(name)]: the metadata is not stale.
        var entryPoint = function.GetProperty("entryPoint").GetString()!;
        var split = entryPoint.LastIndexOf('.');
        var type = typeof(GenerationsApi).Assembly.GetType(entryPoint[..split]);
        Assert.True(type is not null, $"{name}: entry point type '{entryPoint[..split]}' is not in FewStep.Functions.");
        var method = type!.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
            .SingleOrDefault(m => m.Name == entryPoint[(split + 1)..] && m.GetCustomAttribute<FunctionAttribute>() is not null);
        Assert.True(method is not null, $"{name}: no [Function] method '{entryPoint}'.");
        Assert.Equal(name, method!.GetCustomAttribute<FunctionAttribute>()!.Name);
    }

    [Theory]
    [InlineData("StartGeneration", "post", "generations")]
    [InlineData("GetGeneration", "get", "generations/{id}")]
    [InlineData("CancelGeneration", "delete", "generations/{id}")]
    [InlineData("GetJob", "get", "jobs/{*name}")]
    public void Http_functions_have_their_method_route_key_auth_and_a_durable_client(string name, string method, string route)
    {
        var bindings = Bindings(Function(name));

        var trigger = bindings.Single(b => b.GetProperty("type").GetString() == "httpTrigger");
        Assert.Equal([method], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToLowerInvariant()));
        Assert.Equal(route, trigger.GetProperty("route").GetString());
        Assert.Equal("Function", trigger.GetProperty("authLevel").GetString());

        var client = Assert.Single(bindings, b => b.GetProperty("type").GetString() == "durableClient");
        Assert.Equal("In", client.GetProperty("direction").GetString());

        var output = Assert.Single(bindings, b => b.GetProperty("direction").GetString() == "Out");
        Assert.Equal("http", output.GetProperty("type").GetString());
        Assert.Equal("$return", output.GetProperty("name").GetString());
        Assert.Equal(3, bindings.Count);
    }

    // The OpenAI routes are anonymous to the host, which reads keys only from x-functions-key and ?code=: the app
    // checks the key itself (Authorization: Bearer too) by asking the host through the function-level key check.
    [Theory]
    [InlineData("OpenAiCreateImage", "post", "v1/images/generations", "Anonymous", true)]
    [InlineData("OpenAiListModels", "get", "v1/models", "Anonymous", false)]
    [InlineData("CheckFunctionKey", "get", "keys/check", "Function", false)]
    [InlineData("Playground", "get", "playground", "Anonymous", false)]
    [InlineData("PlaygroundAsset", "get", "playground/{asset}", "Anonymous", false)]
    public void OpenAi_routes_and_the_key_check_are_declared_with_their_auth(string name, string method, string route, string authLevel, bool durableClient)
    {
        var bindings = Bindings(Function(name));

        var trigger = bindings.Single(b => b.GetProperty("type").GetString() == "httpTrigger");
        Assert.Equal([method], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToLowerInvariant()));
        Assert.Equal(route, trigger.GetProperty("route").GetString());
        Assert.Equal(authLevel, trigger.GetProperty("authLevel").GetString());
        Assert.Equal(durableClient, bindings.Any(b => b.GetProperty("type").GetString() == "durableClient"));
        Assert.Equal(durableClient ? 3 : 2, bindings.Count);
    }

    [Fact]
    public void Durable_functions_have_no_other_bindings()
    {
        foreach (var name in s_expectedTriggers.Where(e => e.Value is "orchestrationTrigger" or "activityTrigger").Select(e => e.Key))
        {
            var bindings = Bindings(Function(name)).Select(b => b.GetProperty("type").GetString()).ToList();
            Assert.True(bindings.Count == 1, $"{name} has bindings [{string.Join(", ", bindings)}]; only its trigger was expected.");
        }
    }

    [Theory]
    [InlineData("SubmitJob", null)]
    [InlineData("SubmitJobFromEventGrid", "EventGrid")]
    public void Job_triggers_watch_the_jobs_container_and_start_orchestrations(string name, string? source)
    {
        var bindings = Bindings(Function(name));

        var trigger = bindings.Single(b => b.GetProperty("type").GetString() == "blobTrigger");
        Assert.Equal("jobs/{name}", trigger.GetProperty("path").GetString());
        Assert.Equal("AzureWebJobsStorage", trigger.GetProperty("connection").GetString());
        Assert.Equal(source, trigger.TryGetProperty("source", out var s) ? s.GetString() : null);
        Assert.Single(bindings, b => b.GetProperty("type").GetString() == "durableClient");
        Assert.Equal(2, bindings.Count);
    }

    [Fact]
    public void The_tests_register_exactly_the_apps_orchestrator_and_activities()
    {
        var durable = s_expectedTriggers.Where(e => e.Value is "orchestrationTrigger" or "activityTrigger").Select(e => e.Key);

        Assert.Equal(durable.Order(StringComparer.Ordinal), Support.AppTasks.Names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_Function_attribute_in_the_app_appears_in_the_metadata()
    {
        var declared = typeof(GenerationsApi).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(m => m.GetCustomAttribute<FunctionAttribute>()?.Name)
            .OfType<string>()
            .Order(StringComparer.Ordinal);

        Assert.Equal(s_expectedTriggers.Keys.Order(StringComparer.Ordinal), declared);
    }

    private static JsonElement Function(string name)
    {
        var matches = Functions.EnumerateArray().Where(f => f.GetProperty("name").GetString() == name).ToList();
        Assert.True(matches.Count == 1, $"{s_metadata.Value.Path} declares {matches.Count} functions named '{name}'.");
        return matches[0];
    }

    private static List<JsonElement> Bindings(JsonElement function) => [.. function.GetProperty("bindings").EnumerateArray()];

    private static (string, JsonElement) Load()
    {
        var path = FindMetadata();
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal(JsonValueKind.Array, document.RootElement.ValueKind);
        return (path, document.RootElement.Clone());
    }

    // Next to the app assembly in the test output first (the build copies it there), then the app's own output.
    private static string FindMetadata()
    {
        var candidates = new List<string>
        {
            Path.Combine(Path.GetDirectoryName(typeof(GenerationsApi).Assembly.Location)!, MetadataFile),
            Path.Combine(AppContext.BaseDirectory, MetadataFile),
        };
        var configuration = typeof(FunctionsMetadataTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var root = RepositoryFiles.Root;
        candidates.Add(Path.Combine(root, "src", "FewStep.Functions", "bin", configuration, "net10.0", MetadataFile));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                $"No {MetadataFile} found (looked in: {string.Join("; ", candidates)}). The Azure Functions Worker SDK writes it when " +
                "src/FewStep.Functions builds; build the app (dotnet build tests/FewStep.Functions.Tests) before running this test.");
    }
}

/// <summary>Files at the repository root (the folder holding FewStepFunctions.sln).</summary>
internal static class RepositoryFiles
{
    public static string Root => RepositoryPaths.Root;

    public static string At(string name) => Path.Combine(Root, name);
}
