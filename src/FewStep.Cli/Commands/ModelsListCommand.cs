using System.Globalization;
using FewStep.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

/// <summary><c>fewstep models list</c>: catalog entries with their recommended settings and whether they are on disk, then other local folders.</summary>
public sealed class ModelsListCommand(CliContext cli) : Command<ModelRootSettings>
{
    public override int Execute(CommandContext context, ModelRootSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var store = ModelStore.Open(settings.ModelsDir, cli.Environment);
        var inv = CultureInfo.InvariantCulture;
        cli.Console.MarkupLineInterpolated($"model root: {store.Root}");
        if (store.UserCatalogPath is not null)
        {
            cli.Console.MarkupLineInterpolated($"user catalog: {store.UserCatalogPath}");
        }

        var table = new Table().Title("catalog")
            .AddColumns("name", "steps", "guidance", "size", "scheduler overrides", "hub", "on disk");
        var catalogFolders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in store.Catalog.Entries.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            var folder = entry.ResolveFolder(store.Root);
            catalogFolders.Add(folder);
            var steps = entry.MinSteps == entry.MaxSteps
                ? entry.Steps.ToString(inv)
                : string.Create(inv, $"{entry.Steps} ({entry.MinSteps}-{entry.MaxSteps})");
            var size = entry.Width is null ? "model default" : string.Create(inv, $"{entry.Width}x{entry.Height}");
            var overrides = entry.SchedulerOverrides is { Count: > 0 } o ? string.Join(", ", o.Select(kv => $"{kv.Key}={kv.Value}")) : "-";
            var hub = entry.HubRepo is null ? "-" : entry.HubRepo + (entry.HubSubfolder is null ? string.Empty : "/" + entry.HubSubfolder)
                + (entry.HubRevision is null ? string.Empty : "@" + entry.HubRevision);
            table.AddRow(
                Markup.Escape(entry.Name),
                steps,
                entry.GuidanceScale.ToString(inv),
                size,
                Markup.Escape(overrides),
                Markup.Escape(hub),
                ModelStore.IsModelFolder(folder) ? Markup.Escape(folder) : "no");
        }

        cli.Console.Write(table);
        var others = store.LocalFolders().Where(f => !catalogFolders.Contains(f)).ToArray();
        if (others.Length > 0)
        {
            var local = new Table().Title("other local models").AddColumns("name", "folder");
            foreach (var folder in others)
            {
                local.AddRow(Markup.Escape(Path.GetFileName(folder)), Markup.Escape(folder));
            }

            cli.Console.Write(local);
        }

        return 0;
    }
}
