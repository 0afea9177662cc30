using DurableTask.Core;

namespace FewStep.Functions.Tests.Support.Durable;

/// <summary>
/// A DurableTask.Core <see cref="ObjectCreator{T}"/> that calls a factory for every object it hands out.
/// <c>TaskHubWorker</c> asks its creator once per execution (each orchestration episode, each activity call); the
/// shims keep per-execution state (the orchestration's context wrapper, its custom status), so sharing one instance
/// between executions, as <c>NameValueObjectCreator</c> with an instance would, is wrong for orchestrations.
/// </summary>
public sealed class FactoryObjectCreator<T> : ObjectCreator<T>
{
    private readonly Func<T> _factory;

    /// <param name="name">The name the engine looks the object up by (the orchestrator or activity name).</param>
    /// <param name="version">The version it looks it up by; the client and the shims use the empty string.</param>
    /// <param name="factory">Makes a new object for each execution.</param>
    public FactoryObjectCreator(string name, string version, Func<T> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(version);
        _factory = factory ?? throw new ArgumentNullException(nameof(factory));
        Name = name;
        Version = version;
    }

    public override T Create() => _factory();
}
