namespace FewStep.Functions.Jobs;

/// <summary>A job file as read at its run's ETag.</summary>
public sealed record JobFile(BinaryData? Content, long Length, bool Gone);
