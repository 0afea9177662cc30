using FewStep.Diffusion.Catalog;
using FewStep.Diffusion.Configuration;

namespace FewStep.Functions.Rendering;

/// <summary>What request validation needs to know of a model, read from its folder's configs (no sessions).</summary>
public sealed record ModelInfo(ModelCatalogEntry Entry, string Folder, PipelineFamily Family, ModelGeometry Geometry);
