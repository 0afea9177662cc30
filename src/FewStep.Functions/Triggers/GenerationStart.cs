namespace FewStep.Functions.Triggers;

/// <summary>
/// The outcome of <see cref="GenerationStarter.StartAsync"/>: the generation's id and seed when it was started or
/// replayed, the id it conflicts with for <see cref="GenerationStartKind.KeyConflict"/>, the queue length for
/// <see cref="GenerationStartKind.QueueFull"/>.
/// </summary>
public sealed record GenerationStart(GenerationStartKind Kind, string Id, long Seed, DateTimeOffset CreatedAt, long Queued = 0);
