using FewStep.Functions.Queueing;

namespace FewStep.Functions.Tests.Queueing;

/// <summary>The GPU gate: slots, round-robin across runs, first-come within a run, abandoned waits.</summary>
public sealed class FairRenderGateTests
{
    [Fact]
    public async Task A_free_slot_is_taken_at_once_and_the_next_batch_waits_for_it()
    {
        var gate = new FairRenderGate(1);

        var first = await gate.AcquireAsync("a", CancellationToken.None);
        var second = gate.AcquireAsync("a", CancellationToken.None);

        Assert.False(second.IsCompleted);
        Assert.Equal(1, gate.Waiting);
        first.Dispose();
        (await second.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        Assert.Equal(0, gate.Waiting);
    }

    [Fact]
    public async Task Waiting_runs_are_served_round_robin_and_each_run_in_arrival_order()
    {
        var gate = new FairRenderGate(1);
        var order = new List<string>();
        var holder = await gate.AcquireAsync("big", CancellationToken.None);

        // The big run queues three batches, then two small runs arrive.
        var pending = new[] { "big1", "big2", "big3", "small1", "other1" }
            .Select(name => (name, task: gate.AcquireAsync(name[..^1], CancellationToken.None)))
            .ToList();
        holder.Dispose();
        while (pending.Count > 0)
        {
            await Task.WhenAny(pending.Select(p => p.task)).WaitAsync(TimeSpan.FromSeconds(5));
            var served = Assert.Single(pending, p => p.task.IsCompleted);
            order.Add(served.name);
            pending.Remove(served);
            (await served.task).Dispose();
        }

        // "big" was served last (it held the slot): the two that never rendered go first, then big's batches in order.
        Assert.Equal(["small1", "other1", "big1", "big2", "big3"], order);
    }

    [Fact]
    public async Task With_two_slots_two_batches_render_at_once()
    {
        var gate = new FairRenderGate(2);

        using var a = await gate.AcquireAsync("a", CancellationToken.None);
        using var b = await gate.AcquireAsync("b", CancellationToken.None);
        var c = gate.AcquireAsync("c", CancellationToken.None);

        Assert.False(c.IsCompleted);
        b.Dispose();
        (await c.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }

    [Fact]
    public async Task A_canceled_wait_leaves_the_queue_and_never_takes_a_slot()
    {
        var gate = new FairRenderGate(1);
        var holder = await gate.AcquireAsync("a", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var canceled = gate.AcquireAsync("b", cancel.Token);
        var next = gate.AcquireAsync("c", CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled);
        holder.Dispose();

        (await next.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        Assert.Equal(0, gate.Waiting);
        (await gate.AcquireAsync("d", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }

    [Fact]
    public async Task Disposing_a_lease_twice_frees_one_slot()
    {
        var gate = new FairRenderGate(1);
        var lease = await gate.AcquireAsync("a", CancellationToken.None);
        lease.Dispose();
        lease.Dispose();

        using var one = await gate.AcquireAsync("a", CancellationToken.None);
        var two = gate.AcquireAsync("b", CancellationToken.None);

        Assert.False(two.IsCompleted);
    }
}
