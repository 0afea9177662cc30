using FewStep.Cli.Hub;
using FewStep.Cli.Infrastructure;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

/// <summary><c>fewstep models pull NAME|ORG/REPO[:SUBFOLDER][@REVISION] [--subfolder F] [--dest DIR] [--retries N]</c>.</summary>
public sealed class ModelsPullCommand(CliContext cli) : AsyncCommand<ModelsPullSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, ModelsPullSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var store = ModelStore.Open(settings.ModelsDir, cli.Environment);
        var (name, revision) = SplitRevision(settings.Model);
        HubModelReference reference;
        string destination;
        if (settings.File is not null)
        {
            if (!name.Contains('/', StringComparison.Ordinal))
            {
                throw new UsageException($"--file needs a Hub repository ORG/REPO, not '{settings.Model}'.");
            }

            reference = HubModelReference.Parse(settings.Model, settings.Subfolder);
            var lora = await ModelPuller.PullFileAsync(cli, reference, settings.File,
                Path.GetFullPath(settings.Dest ?? Path.Combine(store.LoraFolder, Path.GetFileName(settings.File))), cancellationToken, settings.Retries).ConfigureAwait(false);
            await cli.Out.WriteLineAsync(lora.Destination).ConfigureAwait(false);
            return 0;
        }

        if (store.Catalog.TryGetLora(name, out var loraEntry) && !store.Catalog.TryGet(name, out _))
        {
            var resolved = new ResolvedLora(loraEntry.Name, Path.GetFullPath(settings.Dest ?? loraEntry.ResolvePath(store.Root)), loraEntry);
            if (loraEntry.HubRepo is not { Length: > 0 } loraRepo || loraEntry.HubFile is not { Length: > 0 } loraFile)
            {
                throw new CliException($"The catalog names no hub_repo/hub_file for LoRA '{loraEntry.Name}'; put the .safetensors file at {resolved.Path}.");
            }

            var loraReference = HubModelReference.Parse(loraRepo, null) with { Revision = revision ?? loraEntry.HubRevision ?? HubModelReference.DefaultRevision };
            var pulled = await ModelPuller.PullFileAsync(cli, loraReference, loraFile, resolved.Path, cancellationToken, settings.Retries).ConfigureAwait(false);
            await cli.Out.WriteLineAsync(pulled.Destination).ConfigureAwait(false);
            return 0;
        }

        if (store.Catalog.TryGet(name, out var entry))
        {
            if (entry.HubRepo is not { Length: > 0 } repo)
            {
                throw new CliException(
                    $"The catalog names no hub_repo for '{entry.Name}': export it with 'optimum-cli export onnx --model <diffusers repo> {entry.ResolveFolder(store.Root)}' " +
                    $"or add hub_repo to {Path.Combine(store.Root, ModelStore.CatalogFileName)}.");
            }

            reference = HubModelReference.Parse(repo, settings.Subfolder ?? entry.HubSubfolder) with
            {
                Revision = revision ?? entry.HubRevision ?? HubModelReference.DefaultRevision,
            };
            destination = settings.Dest ?? entry.ResolveFolder(store.Root);
        }
        else if (name.Contains('/', StringComparison.Ordinal))
        {
            reference = HubModelReference.Parse(settings.Model, settings.Subfolder);
            destination = settings.Dest ?? Path.Combine(store.Root, reference.Name);
        }
        else
        {
            throw new UsageException($"'{settings.Model}' is neither a catalog name (see 'fewstep models list') nor a Hub repository ORG/REPO.");
        }

        var result = await ModelPuller.PullAsync(cli, reference, Path.GetFullPath(destination), cancellationToken, settings.Retries).ConfigureAwait(false);
        await cli.Out.WriteLineAsync(result.Destination).ConfigureAwait(false);

        // A catalog model that bundles LoRAs (base SDXL + LCM-LoRA) needs them too.
        foreach (var bundled in entry?.Loras ?? [])
        {
            var lora = store.ResolveLora(bundled.Name);
            await ModelPuller.EnsureLoraOnDiskAsync(cli, lora, cancellationToken, settings.Retries).ConfigureAwait(false);
            await cli.Out.WriteLineAsync(lora.Path).ConfigureAwait(false);
        }

        return 0;
    }

    private static (string Name, string? Revision) SplitRevision(string model)
    {
        var at = model.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? (model, null) : (model[..at], model[(at + 1)..]);
    }
}
