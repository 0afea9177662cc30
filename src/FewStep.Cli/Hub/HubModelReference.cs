using FewStep.Cli.Infrastructure;

namespace FewStep.Cli.Hub;

/// <summary>A Hub repository at a revision, optionally a folder inside it: <c>org/repo[@revision]</c>.</summary>
public sealed record HubModelReference(string Repo, string Revision, string? Subfolder)
{
    public const string DefaultRevision = "main";

    /// <summary>Parses <c>org/repo[@revision]</c>.</summary>
    public static HubModelReference Parse(string text, string? subfolder = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.IndexOf('@', StringComparison.Ordinal);
        var repo = at < 0 ? text : text[..at];
        var revision = at < 0 ? DefaultRevision : text[(at + 1)..];
        var parts = repo.Split('/');
        if (parts.Length != 2 || parts.Any(p => p.Length == 0 || p is "." or ".." || p.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
        {
            throw new UsageException($"'{text}' is not a Hub repository: expected ORG/REPO or ORG/REPO@REVISION.");
        }

        if (revision.Length == 0)
        {
            throw new UsageException($"'{text}' has an empty revision after '@'.");
        }

        return new HubModelReference(repo, revision, NormalizeSubfolder(subfolder));
    }

    /// <summary>The repository name without its organisation, the default folder name.</summary>
    public string Name => Repo[(Repo.IndexOf('/', StringComparison.Ordinal) + 1)..];

    public override string ToString() => Subfolder is null ? $"{Repo}@{Revision}" : $"{Repo}@{Revision} ({Subfolder}/)";

    private static string? NormalizeSubfolder(string? subfolder)
    {
        var trimmed = subfolder?.Trim().Trim('/');
        return string.IsNullOrEmpty(trimmed) ? null : trimmed;
    }
}
