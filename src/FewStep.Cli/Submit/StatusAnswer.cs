namespace FewStep.Cli.Submit;

/// <summary>A status poll's answer and the server's <c>Retry-After</c>, when it gave one.</summary>
public sealed record StatusAnswer(GenerationStatus Status, TimeSpan? RetryAfter);
