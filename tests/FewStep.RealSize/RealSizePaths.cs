namespace FewStep.RealSize;

/// <summary>Where the real-size skeleton lies and where its fills go unless told otherwise.</summary>
public static class RealSizePaths
{
    /// <summary>An output folder to use instead of the default one (the folder itself, not a parent).</summary>
    public const string OutputVariable = "FEWSTEP_REALSIZE_DIR";

    public const string SkeletonName = "realsize-sd-turbo";

    /// <summary><c>../shared/conformance/skeletons/realsize-sd-turbo</c> beside the repository root.</summary>
    public static string DefaultSkeleton =>
        Path.GetFullPath(Path.Combine(RepositoryRoot(), "..", "shared", "conformance", "skeletons", SkeletonName));

    /// <summary>
    /// $FEWSTEP_REALSIZE_DIR, or <c>&lt;temp&gt;/fewstep-realsize/realsize-sd-turbo-seed&lt;seed&gt;</c>: outside the
    /// repository (the weights must not be committed) and stable across runs, so that fills are reused.
    /// </summary>
    public static string DefaultOutput(ulong seed) =>
        Environment.GetEnvironmentVariable(OutputVariable) is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(Path.GetTempPath(), "fewstep-realsize", $"{SkeletonName}-seed{seed}");

    /// <summary>The folder holding FewStepFunctions.sln, above this assembly or else above the current directory.</summary>
    public static string RepositoryRoot() =>
        FindRoot(AppContext.BaseDirectory) ?? FindRoot(Environment.CurrentDirectory)
        ?? throw new DirectoryNotFoundException($"No FewStepFunctions.sln above '{AppContext.BaseDirectory}' or '{Environment.CurrentDirectory}'.");

    private static string? FindRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FewStepFunctions.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
