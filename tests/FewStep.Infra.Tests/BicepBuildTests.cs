using System.Text.Json;
using System.Text.Json.Nodes;

namespace FewStep.Infra.Tests;

/// <summary>The Bicep compiles and lints clean, with the linter's rules at level "error" (infra/bicepconfig.json).</summary>
public sealed class BicepBuildTests(CompiledTemplate compiled) : IClassFixture<CompiledTemplate>
{
    [Fact]
    public void Main_template_builds_without_errors_or_warnings()
    {
        Assert.True(compiled.Build.ExitCode == 0, compiled.Build.Describe());
        Assert.Empty(compiled.Build.Diagnostics);
        Assert.NotNull(compiled.Template);
    }

    [Fact]
    public void Main_template_and_modules_lint_clean()
    {
        foreach (var file in new[] { "infra/main.bicep" }.Concat(Directory.GetFiles(Repository.File("infra", "modules"), "*.bicep")
            .Select(f => Path.GetRelativePath(Repository.Root, f))))
        {
            var lint = BicepCli.Run("lint", file);
            Assert.True(lint.ExitCode == 0, $"bicep lint {file}: {lint.Describe()}");
            Assert.Empty(lint.Diagnostics);
        }
    }

    [Fact]
    public void Sample_parameters_file_builds()
    {
        var build = BicepCli.Run("build-params", "infra/main.bicepparam", "--stdout");
        Assert.True(build.ExitCode == 0, build.Describe());
        Assert.Empty(build.Diagnostics);

        var parameters = JsonNode.Parse(JsonNode.Parse(build.StandardOutput)!["parametersJson"]!.GetValue<string>())!["parameters"]!;
        Assert.Equal("Consumption-GPU-NC8as-T4", parameters["gpuWorkloadProfileType"]?["value"]?.GetValue<string>());
        Assert.NotNull(parameters["environmentName"]);
        Assert.NotNull(parameters["minReplicas"]);
        Assert.NotNull(parameters["maxReplicas"]);
    }

    [Fact]
    public void Linter_rules_are_errors()
    {
        using var config = JsonDocument.Parse(Repository.ReadText("infra", "bicepconfig.json"),
            new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var rules = config.RootElement.GetProperty("analyzers").GetProperty("core").GetProperty("rules");
        foreach (var rule in new[]
        {
            "no-unused-params", "no-unused-vars", "outputs-should-not-contain-secrets", "no-hardcoded-env-urls",
            "secure-parameter-default", "use-secure-value-for-secure-inputs", "no-hardcoded-location", "use-resource-symbol-reference",
        })
        {
            Assert.True(rules.TryGetProperty(rule, out var setting), $"bicepconfig.json does not set {rule}");
            Assert.Equal("error", setting.GetProperty("level").GetString());
        }

        // Every configured rule is at level error: a warning would not fail the build.
        Assert.All(rules.EnumerateObject(), r => Assert.Equal("error", r.Value.GetProperty("level").GetString()));
    }

    [Fact]
    public void A_linter_finding_fails_the_build()
    {
        // The mechanism the checks rely on: copy infra/, add an unused parameter, and bicep build must fail.
        var copy = Directory.CreateTempSubdirectory("fewstep-infra-");
        try
        {
            foreach (var file in Directory.GetFiles(Repository.File("infra"), "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(copy.FullName, Path.GetRelativePath(Repository.File("infra"), file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            File.AppendAllText(Path.Combine(copy.FullName, "main.bicep"), "\nparam notUsed string = 'x'\n");
            var build = BicepCli.Run("build", Path.Combine(copy.FullName, "main.bicep"), "--stdout");
            Assert.NotEqual(0, build.ExitCode);
            Assert.Contains(build.Diagnostics, d => d.Contains("no-unused-params", StringComparison.Ordinal));
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }
}
