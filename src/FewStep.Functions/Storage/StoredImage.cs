namespace FewStep.Functions.Storage;

/// <summary>A PNG already in the images container, with the metadata it was uploaded with.</summary>
public sealed record StoredImage(string Blob, int PromptIndex, int ImageIndex, long Seed);
