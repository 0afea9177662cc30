using System.Net;
using System.Security.Cryptography;

namespace FewStep.Cli.Hub;

/// <summary>
/// Downloads the files a FewStep pipeline needs from an ONNX export on the Hub (optimum layout) into a model
/// folder. Each file is written to <c>NAME.part</c>, resumed with an HTTP range after an interruption, checked
/// against its size and sha256 (listing or <c>X-Linked-Etag</c>) and only then renamed into place, so a failed or
/// tampered download never leaves a file that looks complete.
/// </summary>
public sealed class ModelDownloader
{
    public const string PartialSuffix = ".part";
    private const int BufferSize = 1 << 20;

    private static readonly HashSet<string> s_rootFiles = new(StringComparer.Ordinal) { "model_index.json" };
    private static readonly string[] s_extensions = [".onnx", ".onnx_data", ".json", ".txt"];

    private readonly HubClient _hub;

    public ModelDownloader(HubClient hub)
    {
        ArgumentNullException.ThrowIfNull(hub);
        _hub = hub;
    }

    /// <summary>
    /// Whether a file (path relative to the export's root) is one the pipeline reads: <c>model_index.json</c>, and
    /// in <c>scheduler/</c>, <c>tokenizer*/</c>, <c>text_encoder*/</c>, <c>unet/</c>, <c>vae_decoder/</c> the ONNX
    /// graphs, their external data, configs and tokenizer files. Never weights in other formats, the VAE encoder
    /// or the safety checker.
    /// </summary>
    public static bool IsNeeded(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        var parts = relativePath.Split('/');
        if (parts.Length == 1)
        {
            return s_rootFiles.Contains(parts[0]);
        }

        if (parts.Length != 2 || parts[1].Length == 0)
        {
            return false;
        }

        var component = parts[0];
        var componentOk = component is "scheduler" or "unet" or "vae_decoder"
            || IsNumbered(component, "tokenizer") || IsNumbered(component, "text_encoder");
        return componentOk && s_extensions.Any(e => parts[1].EndsWith(e, StringComparison.Ordinal));
    }

    /// <summary>Downloads what is missing of <paramref name="model"/> into <paramref name="destination"/>.</summary>
    public async Task<PullResult> PullAsync(HubModelReference model, string destination, IDownloadObserver? observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(destination);
        var listing = await _hub.ListFilesAsync(model.Repo, model.Revision, cancellationToken).ConfigureAwait(false);
        var prefix = model.Subfolder is null ? string.Empty : model.Subfolder + "/";
        var files = listing
            .Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal))
            .Select(f => (File: f, Relative: f.Path[prefix.Length..]))
            .Where(f => IsNeeded(f.Relative))
            .OrderBy(f => f.Relative, StringComparer.Ordinal)
            .ToArray();
        if (!files.Any(f => f.Relative == "model_index.json") || !files.Any(f => f.Relative.EndsWith("/model.onnx", StringComparison.Ordinal)))
        {
            var where = model.Subfolder is null ? string.Empty : $" under '{model.Subfolder}/'";
            throw new HubException(
                $"{model.Repo}@{model.Revision} has no ONNX export in the optimum layout{where} (model_index.json and */model.onnx); " +
                "export one with: optimum-cli export onnx --model <diffusers repo> <folder>.");
        }

        destination = Path.GetFullPath(destination);
        Directory.CreateDirectory(destination);
        var downloaded = new List<string>();
        var present = new List<string>();
        long transferred = 0;
        foreach (var (file, relative) in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = Path.Combine(destination, relative.Replace('/', Path.DirectorySeparatorChar));
            if (File.Exists(target) && (file.Size is null || new FileInfo(target).Length == file.Size))
            {
                present.Add(relative);
                observer?.OnFileCompleted(relative, skipped: true);
                continue;
            }

            transferred += await DownloadFileAsync(model, file, relative, target, observer, cancellationToken).ConfigureAwait(false);
            downloaded.Add(relative);
            observer?.OnFileCompleted(relative, skipped: false);
        }

        return new PullResult(destination, downloaded, present, transferred);
    }

    private static bool IsNumbered(string component, string stem) =>
        component == stem || (component.StartsWith(stem + "_", StringComparison.Ordinal) && component[(stem.Length + 1)..].All(char.IsAsciiDigit));

    private async Task<long> DownloadFileAsync(
        HubModelReference model, HubFile file, string relative, string target, IDownloadObserver? observer, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var part = target + PartialSuffix;
        var offset = File.Exists(part) ? new FileInfo(part).Length : 0;
        if (file.Size is { } known && offset > known)
        {
            File.Delete(part);
            offset = 0;
        }

        for (var attempt = 0; ; attempt++)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            if (offset > 0)
            {
                await HashExistingAsync(part, hash, cancellationToken).ConfigureAwait(false);
            }

            string? expectedSha = file.Sha256;
            long? expectedSize = file.Size;
            long written = 0;
            if (file.Size is null || offset < file.Size)
            {
                using var response = await _hub.OpenFileAsync(model.Repo, model.Revision, file.Path, offset, cancellationToken).ConfigureAwait(false);
                if (response.Response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable || (offset > 0 && response.Response.StatusCode != HttpStatusCode.PartialContent))
                {
                    // The server cannot continue where the part file ends: start the file again.
                    File.Delete(part);
                    offset = 0;
                    if (attempt > 0)
                    {
                        throw new HubException($"The Hub would not serve {relative} from the start.");
                    }

                    continue;
                }

                expectedSha ??= response.Sha256;
                expectedSize ??= response.LinkedSize ?? (response.Response.Content.Headers.ContentLength + offset);
                if (file.Sha256 is not null && response.Sha256 is not null && !string.Equals(file.Sha256, response.Sha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw new HubException($"The Hub gives two checksums for {relative} ({file.Sha256} in the listing, {response.Sha256} in X-Linked-Etag); nothing written.");
                }

                observer?.OnFileStarted(relative, expectedSize, offset);
                written = await CopyAsync(response.Response, part, offset, hash, relative, observer, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                observer?.OnFileStarted(relative, expectedSize, offset);
            }

            var total = offset + written;
            if (expectedSize is { } size && total < size)
            {
                throw new HubException($"The download of {relative} stopped at {total} of {size} bytes; run the command again to resume.");
            }

            var actualSha = Convert.ToHexStringLower(hash.GetHashAndReset());
            if ((expectedSize is { } exact && total != exact) || (expectedSha is not null && !string.Equals(actualSha, expectedSha, StringComparison.OrdinalIgnoreCase)))
            {
                File.Delete(part);
                throw new HubException(
                    $"Checksum mismatch for {relative}: expected sha256 {expectedSha ?? "(none)"} and {expectedSize?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} bytes, " +
                    $"got {actualSha} and {total} bytes; the file was rejected.");
            }

            File.Move(part, target, overwrite: true);
            return written;
        }
    }

    private static async Task HashExistingAsync(string part, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        await using var stream = new FileStream(part, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, read);
        }
    }

    private static async Task<long> CopyAsync(
        HttpResponseMessage response, string part, long offset, IncrementalHash hash, string relative, IDownloadObserver? observer, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        long written = 0;
        await using var output = new FileStream(part, offset > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
        try
        {
            await using var input = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            int read;
            while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                hash.AppendData(buffer, 0, read);
                written += read;
                observer?.OnFileProgress(relative, read);
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            throw new HubException(
                $"The download of {relative} was interrupted after {offset + written} bytes ({e.Message}); run the command again to resume.", e);
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return written;
    }
}
