namespace FewStep.Diffusion.Tests;

/// <summary>
/// Locates the shared conformance data, which lives beside the repository (<c>../shared/conformance</c> from the
/// folder holding <c>FewStepFunctions.sln</c>), whichever worktree or output folder the tests run from.
/// </summary>
internal static class ConformancePaths
{
    public const string SolutionFileName = "FewStepFunctions.sln";

    private static readonly Lazy<string> RepositoryRootLazy = new(FindRepositoryRoot);

    /// <summary>The folder holding <see cref="SolutionFileName"/>.</summary>
    public static string RepositoryRoot => RepositoryRootLazy.Value;

    /// <summary><c>../shared/conformance</c> relative to the repository root.</summary>
    public static string Root => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "conformance"));

    /// <summary><c>conformance/models</c>: the tiny pipeline folders.</summary>
    public static string Models => Path.Combine(Root, "models");

    /// <summary><c>conformance/schedulers</c>: scheduler vectors.</summary>
    public static string Schedulers => Path.Combine(Root, "schedulers");

    /// <summary><c>conformance/cases</c>: pipeline cases.</summary>
    public static string Cases => Path.Combine(Root, "cases");

    /// <summary><c>conformance/tokenizers.json</c>: tokenizer vectors.</summary>
    public static string TokenizersJson => Path.Combine(Root, "tokenizers.json");

    /// <summary>A model folder, e.g. <c>Model("tiny-lcm")</c>, optionally a component inside it.</summary>
    public static string Model(string model, string? component = null) =>
        component is null ? Path.Combine(Models, model) : Path.Combine(Models, model, component);

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, SolutionFileName)))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above '{AppContext.BaseDirectory}' holds {SolutionFileName}.");
    }
}
