namespace FewStep.Diffusion.Tests;

/// <summary>The shared conformance corpus: <c>../shared/conformance</c> next to the repository root.</summary>
public static class ConformancePaths
{
    public static string Root { get; } = FindRoot();

    public static string Models => Path.Combine(Root, "models");

    public static string Schedulers => Path.Combine(Root, "schedulers");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FewStepFunctions.sln")))
            {
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "conformance"));
            }
        }

        throw new DirectoryNotFoundException($"No FewStepFunctions.sln above {AppContext.BaseDirectory}.");
    }
}
