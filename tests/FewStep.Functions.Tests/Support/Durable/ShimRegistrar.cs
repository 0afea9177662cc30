using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;

namespace FewStep.Functions.Tests.Support.Durable;

/// <summary>
/// <see cref="ITaskRegistrar"/> for DurableTask.Core's <c>TaskHubWorker</c>: each registration becomes an
/// <see cref="ObjectCreator{T}"/> that wraps the function in a fresh Microsoft.DurableTask shim
/// (<see cref="DurableTaskShimFactory"/>), the same adapter the SDK uses to run <see cref="TaskOrchestrationContext"/>
/// code on the Core engine. Orchestrators and activities are registered with the empty version, which is what
/// <see cref="ShimDurableTaskClient"/> starts orchestrations with and what the shims schedule activities with.
/// </summary>
/// <remarks>
/// Sub-orchestrations run, but their <see cref="TaskOrchestrationContext.Parent"/> is null: the creator cannot see
/// the execution it is asked for, so it cannot pass the parent to the shim factory.
/// </remarks>
public sealed class ShimRegistrar(DurableTaskShimFactory shims) : ITaskRegistrar
{
    private readonly DurableTaskShimFactory _shims = shims ?? throw new ArgumentNullException(nameof(shims));
    private readonly List<ObjectCreator<TaskOrchestration>> _orchestrations = [];
    private readonly List<ObjectCreator<TaskActivity>> _activities = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public IReadOnlyList<ObjectCreator<TaskOrchestration>> Orchestrations => _orchestrations;

    public IReadOnlyList<ObjectCreator<TaskActivity>> Activities => _activities;

    public void AddOrchestrator<TInput, TOutput>(string name, Func<TaskOrchestrationContext, TInput, Task<TOutput>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        Claim("orchestrator", name);
        _orchestrations.Add(new FactoryObjectCreator<TaskOrchestration>(
            name, string.Empty, () => _shims.CreateOrchestration<TInput, TOutput>(name, async (context, input) => await run(context, input!))));
    }

    public void AddActivity<TInput, TOutput>(string name, Func<TaskActivityContext, TInput, Task<TOutput>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        Claim("activity", name);
        _activities.Add(new FactoryObjectCreator<TaskActivity>(
            name, string.Empty, () => _shims.CreateActivity<TInput, TOutput>(name, async (context, input) => await run(context, input!))));
    }

    // TaskHubWorker throws on a duplicate too, but only at start-up and without saying which registration it was.
    private void Claim(string kind, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_names.Add(kind + "/" + name))
        {
            throw new ArgumentException($"An {kind} named '{name}' is already registered.", nameof(name));
        }
    }
}
