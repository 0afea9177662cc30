namespace FewStep.Cli.Hub;

/// <summary>What a model download did: files fetched, files already in place, bytes transferred, and the commit pulled.</summary>
public sealed record PullResult(string Destination, IReadOnlyList<string> Downloaded, IReadOnlyList<string> AlreadyPresent, long BytesTransferred, string? Commit);
