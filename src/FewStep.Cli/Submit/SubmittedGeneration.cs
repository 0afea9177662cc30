namespace FewStep.Cli.Submit;

/// <summary>What <c>POST /api/generations</c> answered: the id and where to poll.</summary>
public sealed record SubmittedGeneration(string Id, Uri StatusUrl);
