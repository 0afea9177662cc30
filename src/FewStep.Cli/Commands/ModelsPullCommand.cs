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
        return 0;
    }

    private static (string Name, string? Revision) SplitRevision(string model)
    {
        var at = model.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? (model, null) : (model[..at], model[(at + 1)..]);
    }
}
