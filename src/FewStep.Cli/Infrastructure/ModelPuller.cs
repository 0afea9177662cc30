using FewStep.Cli.Hub;
using Spectre.Console;

namespace FewStep.Cli.Infrastructure;

/// <summary>Runs a model download with progress bars and a one-line summary.</summary>
internal static class ModelPuller
{
    public static async Task<PullResult> PullAsync(CliContext context, HubModelReference model, string destination, CancellationToken cancellationToken, int? retries = null)
    {
        var downloader = new ModelDownloader(new HubClient(context.HubHttp, context.HubOptions()), context.DownloadOptions(retries));
        context.Console.MarkupLineInterpolated($"Pulling [bold]{model.ToString()}[/] into {destination}");
        var result = await context.Console.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .StartAsync(ctx => downloader.PullAsync(model, destination, new SpectreDownloadObserver(ctx), cancellationToken))
            .ConfigureAwait(false);
        context.Console.MarkupLineInterpolated(
            $"{result.Downloaded.Count} file(s) downloaded ({FormatBytes(result.BytesTransferred)}), {result.AlreadyPresent.Count} already present{(result.Commit is null ? string.Empty : $"; commit {result.Commit}")}.");
        return result;
    }

    /// <summary>Pulls one file of a repository (a LoRA) with progress bars and a one-line summary.</summary>
    public static async Task<PullResult> PullFileAsync(CliContext context, HubModelReference model, string hubPath, string destinationFile, CancellationToken cancellationToken, int? retries = null)
    {
        var downloader = new ModelDownloader(new HubClient(context.HubHttp, context.HubOptions()), context.DownloadOptions(retries));
        context.Console.MarkupLineInterpolated($"Pulling [bold]{hubPath}[/] of [bold]{model.ToString()}[/] to {destinationFile}");
        var result = await context.Console.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .StartAsync(ctx => downloader.PullFileAsync(model, hubPath, destinationFile, new SpectreDownloadObserver(ctx), cancellationToken))
            .ConfigureAwait(false);
        context.Console.MarkupLineInterpolated(
            $"{result.Downloaded.Count} file(s) downloaded ({FormatBytes(result.BytesTransferred)}), {result.AlreadyPresent.Count} already present{(result.Commit is null ? string.Empty : $"; commit {result.Commit}")}.");
        return result;
    }

    /// <summary>Pulls a catalog LoRA that is not on disk; a LoRA without a Hub source must be put there by hand.</summary>
    public static async Task EnsureLoraOnDiskAsync(CliContext context, ResolvedLora lora, CancellationToken cancellationToken, int? retries = null)
    {
        if (File.Exists(lora.Path))
        {
            return;
        }

        if (lora.Entry is not { HubRepo: { Length: > 0 } repo, HubFile: { Length: > 0 } file })
        {
            throw new CliException($"LoRA '{lora.Name}' is not at {lora.Path} and the catalog names no hub_repo/hub_file to pull it from; put the .safetensors file there.");
        }

        var reference = HubModelReference.Parse(repo, null) with { Revision = lora.Entry.HubRevision ?? HubModelReference.DefaultRevision };
        await PullFileAsync(context, reference, file, lora.Path, cancellationToken, retries).ConfigureAwait(false);
    }

    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:F1} KiB",
        _ => $"{bytes} B",
    };

    /// <summary>Makes sure a resolved model is on disk: pulls a catalog model that is not; errors say how to get it otherwise.</summary>
    public static async Task EnsureOnDiskAsync(CliContext context, ResolvedModel model, CancellationToken cancellationToken)
    {
        if (ModelStore.IsModelFolder(model.Folder))
        {
            return;
        }

        if (model.Entry?.HubRepo is not { Length: > 0 } repo)
        {
            throw new CliException(
                $"Model '{model.Name}' is not at {model.Folder} and the catalog names no hub_repo to pull it from; " +
                "export it with 'optimum-cli export onnx --model <diffusers repo> <folder>' and pass --model <folder>.");
        }

        var reference = HubModelReference.Parse(repo, model.Entry.HubSubfolder) with
        {
            Revision = model.Entry.HubRevision ?? HubModelReference.DefaultRevision,
        };
        await PullAsync(context, reference, model.Folder, cancellationToken).ConfigureAwait(false);
    }
}
