using FewStep.Cli.Infrastructure;

namespace FewStep.Cli.Hub;

/// <summary>A Hub repository at a revision (branch, tag or commit), optionally a folder inside it: <c>org/repo[:subfolder][@revision]</c>.</summary>
public sealed record HubModelReference(string Repo, string Revision, string? Subfolder)
{
    public const string DefaultRevision = "main";

    /// <summary>Parses <c>org/repo[:subfolder][@revision]</c>; <paramref name="subfolder"/> (<c>--subfolder</c>) wins over the one in the text.</summary>
    public static HubModelReference Parse(string text, string? subfolder = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.IndexOf('@', StringComparison.Ordinal);
        var repo = at < 0 ? text : text[..at];
        var revision = at < 0 ? DefaultRevision : text[(at + 1)..];
        var colon = repo.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            subfolder ??= repo[(colon + 1)..];
            repo = repo[..colon];
        }

        if (NormalizeSubfolder(subfolder) is { } folder && folder.Split('/').Any(p => p.Length == 0 || p is "." or ".."))
        {
            throw new UsageException($"'{subfolder}' is not a subfolder of a repository.");
        }

        var parts = repo.Split('/');
        if (parts.Length != 2 || parts.Any(p => p.Length == 0 || p is "." or ".." || p.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
        {
            throw new UsageException($"'{text}' is not a Hub repository: expected ORG/REPO, ORG/REPO:SUBFOLDER or either with @REVISION.");
        }

        if (revision.Length == 0)
        {
            throw new UsageException($"'{text}' has an empty revision after '@'.");
        }

        return new HubModelReference(repo, revision, NormalizeSubfolder(subfolder));
    }

    /// <summary>The repository name without its organisation, the default folder name.</summary>
    public string Name => Repo[(Repo.IndexOf('/', StringComparison.Ordinal) + 1)..];

    public override string ToString() => Subfolder is null ? $"{Repo}@{Revision}" : $"{Repo}:{Subfolder}@{Revision}";

    private static string? NormalizeSubfolder(string? subfolder)
    {
        var trimmed = subfolder?.Trim().Trim('/');
        return string.IsNullOrEmpty(trimmed) ? null : trimmed;
    }
}
