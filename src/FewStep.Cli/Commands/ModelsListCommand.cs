using System.Globalization;
using FewStep.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

/// <summary><c>fewstep models list</c>: catalog entries with their recommended settings and whether they are on disk, then other local folders.</summary>
public sealed class ModelsListCommand(CliContext cli) : Command<ModelsListSettings>
{
    private static readonly System.Text.Json.JsonSerializerOptions s_json = new() { WriteIndented = true };

    public override int Execute(CommandContext context, ModelsListSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var store = ModelStore.Open(settings.ModelsDir, cli.Environment);
        if (settings.Json)
        {
            cli.Out.WriteLine(Json(store));
            return 0;
        }

        var inv = CultureInfo.InvariantCulture;
        cli.Console.MarkupLineInterpolated($"model root: {store.Root}");
        if (store.UserCatalogPath is not null)
        {
            cli.Console.MarkupLineInterpolated($"user catalog: {store.UserCatalogPath}");
        }

        var table = new Table().Title("catalog")
            .AddColumns("name", "steps", "guidance", "size", "scheduler overrides", "hub", "on disk", "commit");
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
                ModelStore.IsModelFolder(folder) ? Markup.Escape(folder) : "no",
                Markup.Escape(Commit(folder)));
        }

        cli.Console.Write(table);
        var others = store.LocalFolders().Where(f => !catalogFolders.Contains(f)).ToArray();
        if (others.Length > 0)
        {
            var local = new Table().Title("other local models").AddColumns("name", "folder", "commit");
            foreach (var folder in others)
            {
                local.AddRow(Markup.Escape(Path.GetFileName(folder)), Markup.Escape(folder), Markup.Escape(Commit(folder)));
            }

            cli.Console.Write(local);
        }

        var loras = Loras(store);
        if (loras.Count > 0)
        {
            var table2 = new Table().Title("LoRAs").AddColumns("name", "hub", "file", "on disk");
            foreach (var lora in loras)
            {
                table2.AddRow(Markup.Escape(lora.Name), Markup.Escape(lora.Hub ?? "-"), Markup.Escape(lora.Path), lora.OnDisk ? "yes" : "no");
            }

            cli.Console.Write(table2);
        }

        return 0;
    }

    // The commit a folder was pulled at, shortened as git shows it.
    private static string Commit(string folder) =>
        FewStep.Cli.Hub.PullRecord.TryRead(folder) is { Commit: { Length: > 0 } commit } ? commit[..Math.Min(12, commit.Length)] : "-";

    private static string Json(ModelStore store)
    {
        object Describe(string name, string folder, Diffusion.Catalog.ModelCatalogEntry? entry)
        {
            var record = FewStep.Cli.Hub.PullRecord.TryRead(folder);
            return new
            {
                name,
                folder,
                on_disk = ModelStore.IsModelFolder(folder),
                in_catalog = entry is not null,
                hub_repo = entry?.HubRepo ?? record?.Repo,
                subfolder = entry?.HubSubfolder ?? record?.Subfolder,
                revision = entry?.HubRevision ?? record?.Revision,
                commit = record?.Commit,
                pulled_at = record?.PulledAt,
                steps = entry?.Steps,
                min_steps = entry?.MinSteps,
                max_steps = entry?.MaxSteps,
                guidance_scale = entry?.GuidanceScale,
                width = entry?.Width,
                height = entry?.Height,
            };
        }

        var catalog = store.Catalog.Entries.OrderBy(e => e.Name, StringComparer.Ordinal).Select(e => (e.Name, Folder: e.ResolveFolder(store.Root), Entry: e)).ToList();
        var folders = catalog.Select(c => c.Folder).ToHashSet(StringComparer.Ordinal);
        var models = catalog.Select(c => Describe(c.Name, c.Folder, c.Entry))
            .Concat(store.LocalFolders().Where(f => !folders.Contains(f)).Select(f => Describe(Path.GetFileName(f), f, null)));
        var loras = Loras(store).Select(l => new { name = l.Name, hub = l.Hub, file = l.Path, on_disk = l.OnDisk });
        return System.Text.Json.JsonSerializer.Serialize(new { model_root = store.Root, user_catalog = store.UserCatalogPath, models, loras }, s_json);
    }

    // Catalog LoRAs (on disk or not) and every other .safetensors file in the LoRA folder.
    private static List<(string Name, string? Hub, string Path, bool OnDisk)> Loras(ModelStore store)
    {
        var catalog = store.Catalog.Loras.OrderBy(l => l.Name, StringComparer.Ordinal)
            .Select(l => (l.Name, Hub: l.HubRepo is null ? null : $"{l.HubRepo}/{l.HubFile}", Path: l.ResolvePath(store.Root)))
            .Select(l => (l.Name, l.Hub, l.Path, File.Exists(l.Path))).ToList();
        var known = catalog.Select(l => l.Path).ToHashSet(StringComparer.Ordinal);
        var files = Directory.Exists(store.LoraFolder)
            ? Directory.EnumerateFiles(store.LoraFolder, "*.safetensors").Order(StringComparer.Ordinal).Where(f => !known.Contains(f))
                .Select(f => (Path.GetFileNameWithoutExtension(f), (string?)null, f, true))
            : [];
        return [.. catalog, .. files];
    }
}
