using System.Globalization;
using System.Security.Cryptography;
using FewStep.Cli.Hub;
using FewStep.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

/// <summary><c>fewstep models verify NAME|DIR</c>: re-hashes every file of a pulled folder against its <c>.fewstep-pull.json</c>.</summary>
public sealed class ModelsVerifyCommand(CliContext cli) : AsyncCommand<ModelsVerifySettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, ModelsVerifySettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var store = ModelStore.Open(settings.ModelsDir, cli.Environment);
        var folder = Directory.Exists(settings.Model) ? Path.GetFullPath(settings.Model)
            : store.Catalog.TryGet(settings.Model, out var entry) ? entry.ResolveFolder(store.Root)
            : throw new CliException($"Unknown model '{settings.Model}': not a folder and not in the catalog (see 'fewstep models list').");
        var record = PullRecord.TryRead(folder)
            ?? throw new CliException($"{folder} has no {PullRecord.FileName}: it was not pulled by 'fewstep models pull' (or by an older version); pull it again to record its files.");
        var problems = new List<string>();
        foreach (var file in record.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = Path.Combine(folder, file.Path.Replace('/', Path.DirectorySeparatorChar));
            if (!File.Exists(path))
            {
                problems.Add($"{file.Path}: missing");
                continue;
            }

            var length = new FileInfo(path).Length;
            if (length != file.Size)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"{file.Path}: {length} bytes, {file.Size} expected"));
                continue;
            }

            string sha;
            await using (var stream = File.OpenRead(path))
            {
                sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
            }

            if (!string.Equals(sha, file.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"{file.Path}: sha256 {sha}, {file.Sha256} expected");
            }
        }

        var source = $"{record.Repo}{(record.Subfolder is null ? string.Empty : ":" + record.Subfolder)}@{record.Revision}{(record.Commit is null ? string.Empty : $" (commit {record.Commit})")}";
        foreach (var problem in problems)
        {
            cli.Console.MarkupLineInterpolated($"[red]{problem}[/]");
        }

        if (problems.Count > 0)
        {
            throw new CliException(string.Create(CultureInfo.InvariantCulture,
                $"{problems.Count} of {record.Files.Count} files of {folder} differ from {source}: {string.Join("; ", problems)}. Pull it again ('fewstep models pull {record.Repo}{(record.Subfolder is null ? string.Empty : ":" + record.Subfolder)}@{record.Commit ?? record.Revision} --dest {folder}') to repair it."));
        }

        cli.Console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"{record.Files.Count} files of {folder} match {source}.");
        await cli.Out.WriteLineAsync(folder).ConfigureAwait(false);
        return 0;
    }
}
