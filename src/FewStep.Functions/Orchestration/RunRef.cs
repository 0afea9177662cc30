namespace FewStep.Functions.Orchestration;

/// <summary>What an activity needs to find a run's blobs: its id, kind (which container) and folder in it.</summary>
/// <param name="Prefix">The run's folder: <c>generations/{id}</c> in the images container, or the job's name in the results container.</param>
public sealed record RunRef(string Id, RunKind Kind, string Prefix);
