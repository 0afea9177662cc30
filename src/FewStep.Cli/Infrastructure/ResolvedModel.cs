using FewStep.Diffusion.Catalog;

namespace FewStep.Cli.Infrastructure;

/// <summary>A model the user named: its display name, its folder, and its catalog entry when it came from the catalog.</summary>
public sealed record ResolvedModel(string Name, string Folder, ModelCatalogEntry? Entry);
