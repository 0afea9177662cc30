using Microsoft.DurableTask;

namespace FewStep.Functions.Tests.Support.Durable;

/// <summary>
/// One way to register orchestrators and activities, whichever engine runs them: the in-process test host
/// (<see cref="InProcessRegistrar"/>) or DurableTask.Core's <c>TaskHubWorker</c> on Azure Storage
/// (<see cref="AzureStorageDurableHost"/>). A test registers its code once and can run it on both, so a
/// difference in behaviour is the engine's, not the test's.
/// </summary>
public interface ITaskRegistrar
{
    /// <summary>Registers an orchestrator function under <paramref name="name"/> (no version).</summary>
    void AddOrchestrator<TInput, TOutput>(string name, Func<TaskOrchestrationContext, TInput, Task<TOutput>> run);

    /// <summary>Registers an activity function under <paramref name="name"/> (no version).</summary>
    void AddActivity<TInput, TOutput>(string name, Func<TaskActivityContext, TInput, Task<TOutput>> run);
}
