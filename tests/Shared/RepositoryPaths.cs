namespace FewStep.Tests;

/// <summary>The repository root: the folder holding FewStepFunctions.sln, above the test assembly.</summary>
internal static class RepositoryPaths
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FewStepFunctions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No FewStepFunctions.sln above '{AppContext.BaseDirectory}'.");
    });

    public static string Root => s_root.Value;
}
