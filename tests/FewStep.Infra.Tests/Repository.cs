using System.Reflection;

namespace FewStep.Infra.Tests;

/// <summary>Paths of the repository under test and of the Bicep CLI the build downloaded.</summary>
internal static class Repository
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    public static string Root => s_root.Value;

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string ReadText(params string[] parts) => System.IO.File.ReadAllText(File(parts));

    /// <summary>tools/bicep of Azure.Bicep.CommandLine.linux-x64 in the NuGet packages folder (a PackageDownload).</summary>
    public static string BicepPath =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "BicepPath")?.Value
        ?? throw new InvalidOperationException("The BicepPath assembly metadata is missing: see FewStep.Infra.Tests.csproj.");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "FewStepFunctions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No FewStepFunctions.sln above '{AppContext.BaseDirectory}'.");
    }
}
