namespace FewStep.Cli.Hub;

/// <summary>Single-file pulls: a LoRA is one <c>.safetensors</c> file of a repository, not an export folder.</summary>
public sealed partial class ModelDownloader
{
    /// <summary>
    /// Downloads <paramref name="hubPath"/> of <paramref name="model"/> to <paramref name="destinationFile"/> with the
    /// guarantees of a folder pull (resume, retries, sha256, atomic rename, lock, free-space check) and records it in
    /// <c>&lt;file&gt;.fewstep-pull.json</c>, so a second pull of the same commit downloads nothing.
    /// </summary>
    public async Task<PullResult> PullFileAsync(HubModelReference model, string hubPath, string destinationFile, IDownloadObserver? observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(hubPath);
        destinationFile = Path.GetFullPath(destinationFile);
        var folder = Path.GetDirectoryName(destinationFile)!;
        var name = Path.GetFileName(destinationFile);
        using var pullLock = PullLock.Acquire(folder, name);
        var retry = HubRetry.Create(_options, arguments => observer?.OnRetry(arguments.AttemptNumber + 1, arguments.RetryDelay, arguments.Outcome.Exception?.Message ?? "failed"));
        var revision = await RunAsync(retry, token => _hub.ListFilesAsync(model.Repo, model.Revision, token), $"listing {model}", cancellationToken).ConfigureAwait(false);
        var path = model.Subfolder is null ? hubPath : model.Subfolder + "/" + hubPath;
        var file = revision.Files.FirstOrDefault(f => f.Path == path);
        if (file is null)
        {
            var candidates = revision.Files.Where(f => f.Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)).Select(f => f.Path).Take(10).ToList();
            throw new HubException(
                $"{model.Repo}@{model.Revision} has no file '{path}'" +
                (candidates.Count > 0 ? $"; its .safetensors files: {string.Join(", ", candidates)}." : "; it has no .safetensors file."));
        }

        var record = PullRecord.TryReadFor(destinationFile);
        var hashes = record is not null && record.Repo == model.Repo
            ? record.Files.Where(f => f.Path == name).ToDictionary(f => f.Path, StringComparer.Ordinal)
            : [];
        var state = new PullState(folder, observer, hashes);
        CheckSpace(folder, [(name, file)], state);
        await FetchAsync(model, file, name, retry, state, cancellationToken).ConfigureAwait(false);
        new PullRecord(model.Repo, model.Subfolder, model.Revision, revision.Commit, DateTimeOffset.UtcNow, state.Files).WriteFor(destinationFile);
        return new PullResult(destinationFile, state.Downloaded, state.Present, state.Transferred, revision.Commit);
    }
}
