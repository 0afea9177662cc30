using System.Text.RegularExpressions;

namespace FewStep.Infra.Tests;

/// <summary>The Dockerfile (CUDA 13 + cuDNN 9 on the .NET 10 Functions image) and azure.yaml (azd up).</summary>
public sealed class DeploymentFilesTests
{
    [Fact]
    public void Dockerfile_publishes_the_functions_app_onto_the_dotnet10_isolated_image()
    {
        var dockerfile = Repository.ReadText("Dockerfile");
        Assert.Contains("mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0", dockerfile, StringComparison.Ordinal);
        Assert.Contains("mcr.microsoft.com/dotnet/sdk:10.0", dockerfile, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"dotnet publish src/FewStep\.Functions/FewStep\.Functions\.csproj -c Release -r linux-x64"), dockerfile);
        Assert.Contains("COPY --from=build /app/publish /home/site/wwwroot", dockerfile, StringComparison.Ordinal);
        Assert.Contains("AzureWebJobsScriptRoot=/home/site/wwwroot", dockerfile, StringComparison.Ordinal);

        // Two stages: the SDK builds, the Functions image runs.
        Assert.Equal(2, Regex.Count(dockerfile, @"^FROM ", RegexOptions.Multiline));
    }

    [Fact]
    public void Dockerfile_points_the_v1_key_check_at_the_host_inside_the_container()
    {
        // The image's host listens on port 80 (EXPOSE 80, the container app's target port); the route is KeyCheckApi.Route.
        var dockerfile = Repository.ReadText("Dockerfile");
        Assert.Contains("FewStep__KeyCheckUrl=http://localhost/api/keys/check", dockerfile, StringComparison.Ordinal);
        Assert.Contains("EXPOSE 80", dockerfile, StringComparison.Ordinal);
        Assert.Contains("Route = \"keys/check\"", Repository.ReadText("src/FewStep.Functions/Triggers/KeyCheckApi.cs"), StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_installs_the_cuda13_runtime_and_cudnn9_that_onnx_runtime_loads()
    {
        var dockerfile = Repository.ReadText("Dockerfile");
        foreach (var package in new[] { "cuda-cudart-13-0", "libcublas-13-0", "libcurand-13-0", "cudnn9-cuda-13" })
        {
            Assert.Contains(package, dockerfile, StringComparison.Ordinal);
        }

        Assert.Contains("developer.download.nvidia.com/compute/cuda/repos/", dockerfile, StringComparison.Ordinal);
        Assert.Contains("cuda-keyring", dockerfile, StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerignore_keeps_build_outputs_and_the_repository_noise_out()
    {
        var ignore = Repository.ReadText(".dockerignore").Split('\n', StringSplitOptions.TrimEntries);
        foreach (var entry in new[] { "**/bin/", "**/obj/", ".git/", "tests/", "**/local.settings.json" })
        {
            Assert.Contains(entry, ignore);
        }
    }

    [Fact]
    public void Azure_yaml_provisions_the_bicep_and_deploys_the_dockerfile_to_the_tagged_container_app()
    {
        var yaml = Repository.ReadText("azure.yaml");
        Assert.Matches(new Regex(@"^infra:\s*\n\s+provider: bicep\s*\n\s+path: infra\s*\n\s+module: main", RegexOptions.Multiline), yaml);
        Assert.True(File.Exists(Repository.File("infra", "main.bicep")));
        Assert.Matches(new Regex(@"^  functions:\s*$", RegexOptions.Multiline), yaml);
        Assert.Contains("host: containerapp", yaml, StringComparison.Ordinal);
        Assert.Contains("path: ./Dockerfile", yaml, StringComparison.Ordinal);

        // azd finds the app by its azd-service-name tag.
        Assert.Contains("serviceName: 'functions'", Repository.ReadText("infra", "main.bicep"), StringComparison.Ordinal);
        Assert.Contains("'azd-service-name': serviceName", Repository.ReadText("infra", "modules", "functionapp.bicep"), StringComparison.Ordinal);
    }
}
