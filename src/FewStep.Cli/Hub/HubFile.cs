namespace FewStep.Cli.Hub;

/// <summary>One file of a Hub repository revision: its path, and for LFS files the size and sha256 the listing gives.</summary>
public sealed record HubFile(string Path, long? Size, string? Sha256);
