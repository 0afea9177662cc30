using FewStep.Diffusion.Catalog;

namespace FewStep.Cli.Infrastructure;

/// <summary>A LoRA the user named: its display name, its file, and its catalog entry when it came from the catalog.</summary>
public sealed record ResolvedLora(string Name, string Path, LoraCatalogEntry? Entry);
