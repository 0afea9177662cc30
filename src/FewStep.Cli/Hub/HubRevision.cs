namespace FewStep.Cli.Hub;

/// <summary>A repository revision as the Hub lists it: the commit it resolves to and its files.</summary>
public sealed record HubRevision(string? Commit, IReadOnlyList<HubFile> Files);
