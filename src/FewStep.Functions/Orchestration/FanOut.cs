using Microsoft.DurableTask;

namespace FewStep.Functions.Orchestration;

/// <summary>Durable fan-out/fan-in that reports each completion as it happens (for progress).</summary>
internal static class FanOut
{
    /// <summary>
    /// Awaits every task, calling <paramref name="onCompleted"/> in completion order. Throws the first failure
    /// (a <see cref="TaskFailedException"/>) as soon as it is seen.
    /// </summary>
    public static async Task WhenEach<T>(IEnumerable<Task<T>> tasks, Action<T> onCompleted)
    {
        var pending = tasks.ToList();
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending).ConfigureAwait(true);
            pending.Remove(done);
            onCompleted(await done.ConfigureAwait(true));
        }
    }
}
