using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using FewStep.Onnx.Models;
using Polly;

namespace FewStep.Cli.Hub;

/// <summary>
/// Pulls the files a FewStep pipeline needs from an ONNX export on the Hub (optimum layout) into a model folder:
/// the configs, tokenizer files and <c>model.onnx</c> of every component the pipeline uses, then every
/// external-data file each <c>model.onnx</c> references (read from the file itself, whatever the exporter named
/// them), never the PyTorch weights many repositories ship beside them. Each file is written to
/// <c>NAME.part</c>, resumed with an HTTP range after a dropped or stalled connection — within the run, under
/// the <see cref="HubRetry"/> policy — checked against its size and sha256 (listing or <c>X-Linked-Etag</c>) and
/// only then renamed into place, so a failed or tampered download never leaves a file that looks complete. One
/// pull per folder at a time (<see cref="PullLock"/>); the commit and every file's hash go to
/// <see cref="PullRecord"/>.
/// </summary>
public sealed partial class ModelDownloader
{
    public const string PartialSuffix = ".part";
    private const int BufferSize = 1 << 20;

    private static readonly string[] s_components = ["scheduler", "unet", "transformer", "vae_decoder"];
    private static readonly string[] s_numberedComponents = ["tokenizer", "text_encoder"];

    // Weights in formats the ONNX pipeline never reads (and that are often as large as the ONNX ones).
    private static readonly string[] s_otherFormats = [".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".msgpack", ".h5", ".gguf"];

    private readonly HubClient _hub;
    private readonly DownloadOptions _options;

    public ModelDownloader(HubClient hub, DownloadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(hub);
        _hub = hub;
        _options = options ?? new DownloadOptions();
    }

    /// <summary>
    /// Whether a file (path relative to the export's root) is one the pipeline reads before any ONNX file is
    /// looked into: <c>model_index.json</c>, and in <c>scheduler/</c>, <c>tokenizer*/</c>, <c>text_encoder*/</c>,
    /// <c>unet/</c>, <c>transformer/</c>, <c>vae_decoder/</c> the configs, tokenizer files and <c>model.onnx</c>.
    /// External data is added from what the ONNX files reference. Never other weight formats, the VAE encoder,
    /// the safety checker or ControlNets.
    /// </summary>
    public static bool IsNeeded(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        var parts = relativePath.Split('/');
        if (parts.Length == 1)
        {
            return parts[0] == "model_index.json";
        }

        if (parts.Length != 2 || parts[1].Length == 0 || !IsComponent(parts[0]) || IsOtherFormat(parts[1]))
        {
            return false;
        }

        var file = parts[1];
        return parts[0] switch
        {
            "scheduler" => file.EndsWith(".json", StringComparison.Ordinal),
            var c when c.StartsWith("tokenizer", StringComparison.Ordinal) => !file.StartsWith('.'),
            _ => file is "model.onnx" || file.EndsWith(".json", StringComparison.Ordinal),
        };
    }

    /// <summary>Downloads what is missing of <paramref name="model"/> into <paramref name="destination"/>.</summary>
    public async Task<PullResult> PullAsync(HubModelReference model, string destination, IDownloadObserver? observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(destination);
        destination = Path.GetFullPath(destination);
        using var pullLock = PullLock.Acquire(destination);
        var retry = HubRetry.Create(_options, arguments => observer?.OnRetry(arguments.AttemptNumber + 1, arguments.RetryDelay, arguments.Outcome.Exception?.Message ?? "failed"));
        var revision = await RunAsync(retry, token => _hub.ListFilesAsync(model.Repo, model.Revision, token), $"listing {model}", cancellationToken).ConfigureAwait(false);
        var prefix = model.Subfolder is null ? string.Empty : model.Subfolder + "/";
        var available = revision.Files
            .Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(f => f.Path[prefix.Length..], StringComparer.Ordinal);
        var basics = available.Where(f => IsNeeded(f.Key)).OrderBy(f => f.Key, StringComparer.Ordinal).ToList();
        if (!basics.Any(f => f.Key == "model_index.json") || !basics.Any(f => f.Key.EndsWith("/model.onnx", StringComparison.Ordinal)))
        {
            var where = model.Subfolder is null ? string.Empty : $" under '{model.Subfolder}/'";
            var subfolders = available.Keys.Where(k => k.EndsWith("/model_index.json", StringComparison.Ordinal)).Select(k => k[..^"/model_index.json".Length]).ToList();
            var hint = subfolders.Count > 0 ? $" It has one in {string.Join(", ", subfolders.Select(s => $"'{s}/'"))}: pull {model.Repo}:{subfolders[0]} (or --subfolder {subfolders[0]})." : string.Empty;
            throw new HubException(
                $"{model.Repo}@{model.Revision} has no ONNX export in the optimum layout{where} (model_index.json and */model.onnx).{hint} " +
                "Export one with: optimum-cli export onnx --model <diffusers repo> <folder>.");
        }

        var record = PullRecord.TryRead(destination);
        var hashes = record is not null && record.Repo == model.Repo && record.Subfolder == model.Subfolder
            ? record.Files.ToDictionary(f => f.Path, StringComparer.Ordinal)
            : [];
        var state = new PullState(destination, observer, hashes);
        CheckSpace(destination, basics.Select(b => (b.Key, b.Value)).Concat(ExternalCandidates(available, basics)), state);
        // model_index.json last of all: a folder that has it is complete, so an interrupted pull never looks like a model.
        foreach (var (relative, file) in basics.Where(b => b.Key != "model_index.json"))
        {
            await FetchAsync(model, file, relative, retry, state, cancellationToken).ConfigureAwait(false);
        }

        // Every external-data file a graph references, by the names the graph itself gives them.
        var external = new List<(string Relative, HubFile File)>();
        foreach (var (relative, _) in basics.Where(b => b.Key.EndsWith("/model.onnx", StringComparison.Ordinal)))
        {
            var component = relative[..relative.LastIndexOf('/')];
            IReadOnlyList<string> locations;
            try
            {
                locations = OnnxExternalData.ReadLocations(Path.Combine(destination, relative.Replace('/', Path.DirectorySeparatorChar)));
            }
            catch (InvalidDataException e)
            {
                throw new HubException($"{relative} of {model} is not a readable ONNX file: {e.Message}", e);
            }

            foreach (var location in locations)
            {
                var path = $"{component}/{location}";
                if (!available.TryGetValue(path, out var file))
                {
                    throw new HubException($"{relative} of {model} keeps its weights in '{location}', which the repository does not have; the export is incomplete.");
                }

                external.Add((path, file));
            }
        }

        CheckSpace(destination, external.Select(e => (e.Relative, e.File)), state);
        foreach (var (relative, file) in external.DistinctBy(e => e.Relative))
        {
            await FetchAsync(model, file, relative, retry, state, cancellationToken).ConfigureAwait(false);
        }

        await FetchAsync(model, available["model_index.json"], "model_index.json", retry, state, cancellationToken).ConfigureAwait(false);

        new PullRecord(model.Repo, model.Subfolder, model.Revision, revision.Commit, DateTimeOffset.UtcNow,
            state.Files.OrderBy(f => f.Path, StringComparer.Ordinal).ToList()).Write(destination);
        return new PullResult(destination, state.Downloaded, state.Present, state.Transferred, revision.Commit);
    }

    private static bool IsComponent(string folder) =>
        s_components.Contains(folder) || s_numberedComponents.Any(stem => folder == stem || (folder.StartsWith(stem + "_", StringComparison.Ordinal) && folder[(stem.Length + 1)..].All(char.IsAsciiDigit)));

    private static bool IsOtherFormat(string file) => s_otherFormats.Any(e => file.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    // Before the ONNX files are read, any other file in a model component folder may be external data: the
    // space check counts them so a pull that cannot fit stops before its first large transfer.
    private static IEnumerable<(string, HubFile)> ExternalCandidates(Dictionary<string, HubFile> available, List<KeyValuePair<string, HubFile>> basics)
    {
        var components = basics.Where(b => b.Key.EndsWith("/model.onnx", StringComparison.Ordinal)).Select(b => b.Key[..b.Key.LastIndexOf('/')]).ToHashSet(StringComparer.Ordinal);
        var taken = basics.Select(b => b.Key).ToHashSet(StringComparer.Ordinal);
        return available.Where(f => !taken.Contains(f.Key) && f.Key.Contains('/', StringComparison.Ordinal)
                && components.Contains(f.Key[..f.Key.LastIndexOf('/')]) && !IsOtherFormat(f.Key) && !f.Key.EndsWith(".json", StringComparison.Ordinal))
            .Select(f => (f.Key, f.Value));
    }

    private void CheckSpace(string destination, IEnumerable<(string Relative, HubFile File)> files, PullState state)
    {
        long needed = 0;
        foreach (var (relative, file) in files)
        {
            if (file.Size is not { } size || state.IsInPlace(relative, file))
            {
                continue;
            }

            var part = state.Target(relative) + PartialSuffix;
            needed += size - (File.Exists(part) ? Math.Min(size, new FileInfo(part).Length) : 0);
        }

        state.Observer?.OnPlanned(needed);
        if (needed > 0 && _options.FreeSpace(destination) is { } free && free < needed)
        {
            throw new HubException(string.Create(CultureInfo.InvariantCulture,
                $"Not enough disk space in {destination}: the pull needs {needed} bytes ({Format(needed)}) more, {free} bytes ({Format(free)}) are free. Free some space or pull elsewhere with --dest."));
        }
    }

    private async Task FetchAsync(HubModelReference model, HubFile file, string relative, ResiliencePipeline retry, PullState state, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var target = state.Target(relative);
        if (state.IsInPlace(relative, file))
        {
            state.Present.Add(relative);
            state.Files.Add(new PullRecordFile(relative, new FileInfo(target).Length, state.Hashes.TryGetValue(relative, out var known) && known.Size == new FileInfo(target).Length
                ? known.Sha256
                : await HashFileAsync(target, cancellationToken).ConfigureAwait(false)));
            state.Observer?.OnFileCompleted(relative, skipped: true);
            return;
        }

        var (transferred, sha256) = await DownloadFileAsync(model, file, relative, target, retry, state.Observer, cancellationToken).ConfigureAwait(false);
        state.Transferred += transferred;
        state.Downloaded.Add(relative);
        state.Files.Add(new PullRecordFile(relative, new FileInfo(target).Length, sha256));
        state.Observer?.OnFileCompleted(relative, skipped: false);
    }

    private async Task<(long Transferred, string Sha256)> DownloadFileAsync(
        HubModelReference model, HubFile file, string relative, string target, ResiliencePipeline retry, IDownloadObserver? observer, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var part = target + PartialSuffix;
        if (file.Size is { } known && File.Exists(part) && new FileInfo(part).Length > known)
        {
            File.Delete(part);
        }

        long transferred = 0;
        var started = false;
        string? expectedSha = file.Sha256;
        long? expectedSize = file.Size;
        try
        {
            // One attempt: from the bytes on disk to the end. A dropped, reset or stalled connection throws and
            // the policy runs the attempt again, which resumes from the new end of the part file.
            await retry.ExecuteAsync(async token =>
            {
                var offset = File.Exists(part) ? new FileInfo(part).Length : 0;
                if (expectedSize is { } size && offset >= size)
                {
                    return;
                }

                using var response = await _hub.OpenFileAsync(model.Repo, model.Revision, file.Path, offset, token).ConfigureAwait(false);
                if (response.Response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable || (offset > 0 && response.Response.StatusCode != HttpStatusCode.PartialContent))
                {
                    // The server cannot continue where the part file ends: start the file again.
                    File.Delete(part);
                    throw new IOException($"the server would not resume {relative} at byte {offset}");
                }

                expectedSha ??= response.Sha256;
                expectedSize ??= response.LinkedSize ?? (response.Response.Content.Headers.ContentLength + offset);
                if (file.Sha256 is not null && response.Sha256 is not null && !string.Equals(file.Sha256, response.Sha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw new HubException($"The Hub gives two checksums for {relative} ({file.Sha256} in the listing, {response.Sha256} in X-Linked-Etag); nothing written.");
                }

                if (!started)
                {
                    observer?.OnFileStarted(relative, expectedSize, offset);
                    started = true;
                }

                transferred += await CopyAsync(response.Response, part, offset, relative, observer, token).ConfigureAwait(false);
                var total = new FileInfo(part).Length;
                if (expectedSize is { } exact && total < exact)
                {
                    throw new IOException($"the transfer ended at {total} of {exact} bytes");
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (HubRetry.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            var have = File.Exists(part) ? new FileInfo(part).Length : 0;
            throw new HubException(string.Create(CultureInfo.InvariantCulture,
                $"The download of {relative} failed after {_options.Retries + 1} attempts ({e.Message}); {have} of {expectedSize?.ToString(CultureInfo.InvariantCulture) ?? "?"} bytes are in {part}. Run 'fewstep models pull {model.Repo}{(model.Subfolder is null ? string.Empty : ":" + model.Subfolder)}@{model.Revision}' again to resume."), e);
        }

        if (!started)
        {
            observer?.OnFileStarted(relative, expectedSize, File.Exists(part) ? new FileInfo(part).Length : 0);
        }

        var actualSha = await HashFileAsync(part, cancellationToken).ConfigureAwait(false);
        var length = new FileInfo(part).Length;
        if ((expectedSize is { } exactSize && length != exactSize) || (expectedSha is not null && !string.Equals(actualSha, expectedSha, StringComparison.OrdinalIgnoreCase)))
        {
            File.Delete(part);
            throw new HubException(
                $"Checksum mismatch for {relative}: expected sha256 {expectedSha ?? "(none)"} and {expectedSize?.ToString(CultureInfo.InvariantCulture) ?? "?"} bytes, " +
                $"got {actualSha} and {length} bytes; the file was rejected.");
        }

        File.Move(part, target, overwrite: true);
        return (transferred, actualSha);
    }

    private async Task<long> CopyAsync(HttpResponseMessage response, string part, long offset, string relative, IDownloadObserver? observer, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        long written = 0;
        await using var output = new FileStream(part, offset > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
        await using var input = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            // No byte for ReadTimeout is a stalled connection: give up on it (the policy resumes on a new one).
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stall.CancelAfter(_options.ReadTimeout);
            int read;
            try
            {
                read = await input.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"no data for {_options.ReadTimeout.TotalSeconds:0.#} s after {offset + written} bytes of {relative}"));
            }

            if (read == 0)
            {
                break;
            }

            try
            {
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                // The local disk, not the network: not worth a retry.
                throw new HubException($"Cannot write {part}: {e.Message}", e);
            }

            written += read;
            observer?.OnFileProgress(relative, read);
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return written;
    }

    private static async Task<string> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<T> RunAsync<T>(ResiliencePipeline retry, Func<CancellationToken, Task<T>> action, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await retry.ExecuteAsync(async token => await action(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (HubRetry.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            throw new HubException($"The Hub could not be reached while {what} ({e.Message}); try again later.", e);
        }
    }

    private static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
    };

    /// <summary>What one pull has done so far.</summary>
    private sealed class PullState(string destination, IDownloadObserver? observer, Dictionary<string, PullRecordFile> hashes)
    {
        public IDownloadObserver? Observer { get; } = observer;

        public Dictionary<string, PullRecordFile> Hashes { get; } = hashes;

        public List<string> Downloaded { get; } = [];

        public List<string> Present { get; } = [];

        public List<PullRecordFile> Files { get; } = [];

        public long Transferred { get; set; }

        public string Target(string relative) => Path.Combine(destination, relative.Replace('/', Path.DirectorySeparatorChar));

        // In place: the size the Hub lists (any size when it lists none), and the sha256 it lists if the record knows the file's.
        public bool IsInPlace(string relative, HubFile file)
        {
            var target = Target(relative);
            if (!File.Exists(target) || (file.Size is { } size && new FileInfo(target).Length != size))
            {
                return false;
            }

            return file.Sha256 is null || !Hashes.TryGetValue(relative, out var known) || string.Equals(known.Sha256, file.Sha256, StringComparison.OrdinalIgnoreCase);
        }
    }
}
