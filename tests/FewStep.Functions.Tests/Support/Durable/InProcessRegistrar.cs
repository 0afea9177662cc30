using Microsoft.DurableTask;

namespace FewStep.Functions.Tests.Support.Durable;

/// <summary>
/// <see cref="ITaskRegistrar"/> over the in-process host's <see cref="DurableTaskRegistry"/>. It always uses the
/// two-type-argument <c>AddOrchestratorFunc</c>/<c>AddActivityFunc</c> forms: with one type argument the input
/// reaches the code as a <c>JsonElement</c> and <c>GetInput&lt;T&gt;()</c> throws (PLATFORM.md).
/// </summary>
public sealed class InProcessRegistrar(DurableTaskRegistry registry) : ITaskRegistrar
{
    private readonly DurableTaskRegistry _registry = registry ?? throw new ArgumentNullException(nameof(registry));

    public void AddOrchestrator<TInput, TOutput>(string name, Func<TaskOrchestrationContext, TInput, Task<TOutput>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _registry.AddOrchestratorFunc<TInput, TOutput>(name, (context, input) => run(context, input!));
    }

    public void AddActivity<TInput, TOutput>(string name, Func<TaskActivityContext, TInput, Task<TOutput>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _registry.AddActivityFunc<TInput, TOutput>(name, (context, input) => run(context, input!));
    }
}
