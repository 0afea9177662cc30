namespace FewStep.Functions.Storage;

/// <summary>A PNG already in storage, with the metadata it was uploaded with (<see cref="Line"/>: a job's request line).</summary>
public sealed record StoredImage(string Blob, int PromptIndex, int ImageIndex, long Seed, int? Line = null);
