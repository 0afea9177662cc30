using FewStep.Functions.Cancellation;
using FewStep.Functions.Options;
using FewStep.Functions.Storage;
using FewStep.Functions.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace FewStep.Functions.Tests.Orchestration;

/// <summary>The cancel marker between two instances of the app that share storage but nothing else.</summary>
public sealed class RunCancellationTests
{
    private readonly InMemoryImageStore _store = new();

    [Fact]
    public async Task A_delete_handled_by_another_instance_reaches_this_ones_batches_within_the_poll_interval()
    {
        using var here = Cancellation();
        using var there = Cancellation();
        using var watch = here.Watch("run-1", CancellationToken.None);
        using var other = here.Watch("run-2", CancellationToken.None);
        Assert.False(watch.Token.IsCancellationRequested);

        var started = DateTime.UtcNow;
        await there.RequestAsync("run-1", CancellationToken.None);
        await TestApp.EventuallyAsync(() => Task.FromResult(watch.Token.IsCancellationRequested), TimeSpan.FromSeconds(5), "the watch to fire");

        Assert.True(watch.RunCanceled);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        Assert.False(other.Token.IsCancellationRequested);
        Assert.True(await here.IsRequestedAsync("run-1", CancellationToken.None));
        Assert.False(await here.IsRequestedAsync("run-2", CancellationToken.None));
    }

    [Fact]
    public async Task A_delete_handled_here_fires_at_once_and_a_later_watch_starts_canceled()
    {
        using var here = Cancellation(TimeSpan.FromMinutes(1));
        using var watch = here.Watch("run-1", CancellationToken.None);

        await here.RequestAsync("run-1", CancellationToken.None);

        Assert.True(watch.Token.IsCancellationRequested);
        using var later = here.Watch("run-1", CancellationToken.None);
        Assert.True(later.Token.IsCancellationRequested);
    }

    [Fact]
    public void The_callers_own_token_cancels_the_watch_but_is_not_a_cancel_of_the_run()
    {
        using var here = Cancellation();
        using var stopping = new CancellationTokenSource();
        using var watch = here.Watch("run-1", stopping.Token);

        stopping.Cancel();

        Assert.True(watch.Token.IsCancellationRequested);
        Assert.False(watch.RunCanceled);
    }

    private RunCancellation Cancellation(TimeSpan? poll = null) => new(
        new RunStores(_store, new InMemoryImageStore()),
        Microsoft.Extensions.Options.Options.Create(new FewStepOptions { CancelPollInterval = poll ?? TimeSpan.FromMilliseconds(100) }),
        TimeProvider.System,
        NullLogger<RunCancellation>.Instance);
}
