using System.Diagnostics;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Tests.Support.Durable;
using Grpc.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using OrchestrationAlreadyExistsException = DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException;

namespace FewStep.Functions.Tests.Durable;

/// <summary>
/// Self-tests of <see cref="AzureStorageDurableHost"/>: tiny orchestrations on the engine the Functions host runs
/// (DurableTask.Core's TaskHubWorker on DurableTask.AzureStorage, here against Azurite), through the Microsoft.DurableTask
/// shims and <see cref="ShimDurableTaskClient"/>. Where the real engine differs from the in-process test host, the
/// assertion says what the real one does. Each test gets its own task hub.
/// </summary>
[Collection(AzuriteDefinition.Name)]
public sealed class RealDurableEngineTests(AzuriteFixture azurite) : IDisposable
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(90));

    public void Dispose() => _timeout.Dispose();

    private CancellationToken Timeout => _timeout.Token;

    [Fact]
    public async Task Hello_world_returns_the_activity_result_and_round_trips_input_and_output()
    {
        await using var host = await StartAsync(RegisterHello);

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(HelloOrchestrator, new Person("Ada", 36), Timeout);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(HelloOrchestrator, done.Name);
        Assert.Equal(id, done.InstanceId);
        Assert.Equal(new Person("Ada", 36), done.ReadInputAs<Person>());
        Assert.Equal(new Greeting("Hello, Ada!", 37), done.ReadOutputAs<Greeting>());
        Assert.InRange(done.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow);
        Assert.True(done.LastUpdatedAt >= done.CreatedAt);

        var bare = await host.Client.GetInstanceAsync(id, Timeout);
        Assert.NotNull(bare);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, bare.RuntimeStatus);
        Assert.Null(bare.SerializedInput);
        Assert.Null(bare.SerializedOutput);
        Assert.Null(bare.SerializedCustomStatus);
        Assert.Throws<InvalidOperationException>(() => bare.ReadInputAs<Person>());

        var full = await host.Client.GetInstanceAsync(id, getInputsAndOutputs: true, Timeout);
        Assert.NotNull(full);
        Assert.Equal(new Greeting("Hello, Ada!", 37), full.ReadOutputAs<Greeting>());

        Assert.Null(await host.Client.GetInstanceAsync("no-such-instance", Timeout));
    }

    [Fact]
    public async Task The_same_registration_runs_on_the_in_process_host()
    {
        await using var real = await StartAsync(RegisterHello);
        await using var inProcess = await InProcessDurableHost.StartAsync(RegisterHello);

        foreach (var client in new[] { real.Client, inProcess.Client })
        {
            var id = await client.ScheduleNewOrchestrationInstanceAsync(HelloOrchestrator, new Person("Grace", 85), Timeout);
            var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal(new Greeting("Hello, Grace!", 86), done.ReadOutputAs<Greeting>());
        }
    }

    [Fact]
    public async Task Fan_out_of_ten_activities_collects_every_result_in_order()
    {
        var calls = 0;
        await using var host = await StartAsync(r =>
        {
            r.AddOrchestrator<int, int[]>("FanOut", (context, count) =>
                Task.WhenAll(Enumerable.Range(1, count).Select(i => context.CallActivityAsync<int>("Square", i))));
            r.AddActivity<int, int>("Square", (_, i) =>
            {
                Interlocked.Increment(ref calls);
                return Task.FromResult(i * i);
            });
        });

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("FanOut", 10, Timeout);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => i * i), done.ReadOutputAs<int[]>());
        Assert.Equal(10, calls);
    }

    [Fact]
    public async Task Custom_status_is_visible_while_running_and_only_with_inputs_and_outputs()
    {
        await using var host = await StartAsync(r =>
            r.AddOrchestrator<string, string>("Status", async (context, _) =>
            {
                context.SetCustomStatus(new Progress("waiting", 1));
                var go = await context.WaitForExternalEvent<string>("go");
                context.SetCustomStatus(new Progress("done", 2));
                return go;
            }));

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Status", "x", Timeout);
        var running = await PollAsync(host.Client, id, m => m.SerializedCustomStatus is not null);

        Assert.Equal(OrchestrationRuntimeStatus.Running, running.RuntimeStatus);
        Assert.Equal(new Progress("waiting", 1), running.ReadCustomStatusAs<Progress>());
        var bare = await host.Client.GetInstanceAsync(id, Timeout);
        Assert.Null(bare!.SerializedCustomStatus);

        await host.Client.RaiseEventAsync(id, "go", "went", Timeout);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);
        Assert.Equal("went", done.ReadOutputAs<string>());
        Assert.Equal(new Progress("done", 2), done.ReadCustomStatusAs<Progress>());
    }

    [Fact]
    public async Task An_activity_failure_reaches_the_orchestrator_as_TaskFailedException_with_the_original_type()
    {
        await using var host = await StartAsync(r =>
        {
            r.AddOrchestrator<string, FailureSeen>("Catch", async (context, message) =>
            {
                try
                {
                    await context.CallActivityAsync<string>("Throw", message);
                    return new FailureSeen(false, "(no failure)", "");
                }
                catch (TaskFailedException e)
                {
                    return new FailureSeen(e.FailureDetails.IsCausedBy<InvalidOperationException>(), e.FailureDetails.ErrorType, e.FailureDetails.ErrorMessage);
                }
            });
            r.AddActivity<string, string>("Throw", (_, message) => throw new InvalidOperationException(message));
        });

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Catch", "boom", Timeout);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(new FailureSeen(true, typeof(InvalidOperationException).FullName!, "boom"), done.ReadOutputAs<FailureSeen>());
    }

    [Fact]
    public async Task An_uncaught_failure_fails_the_instance_with_the_error_in_the_output_and_no_failure_details()
    {
        await using var host = await StartAsync(r =>
        {
            r.AddOrchestrator<string, string>("Uncaught", (context, message) => context.CallActivityAsync<string>("Throw", message));
            r.AddActivity<string, string>("Throw", (_, message) => throw new InvalidOperationException(message));
        });

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Uncaught", "kaboom", Timeout);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        // DurableTask.AzureStorage stores a failure as "FailureDetails.ToString()" text in the Output column and
        // never fills OrchestrationState.FailureDetails, so the Functions host (and this client) hand back no
        // FailureDetails for a failed instance: the error is only readable as raw output text.
        Assert.Null(done.FailureDetails);
        Assert.NotNull(done.SerializedOutput);
        Assert.Contains("kaboom", done.SerializedOutput, StringComparison.Ordinal);
        Assert.Contains(nameof(TaskFailedException), done.SerializedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retry_policy_retries_a_failing_activity_until_it_succeeds()
    {
        var attempts = 0;
        await using var host = await StartAsync(r =>
        {
            r.AddOrchestrator<string, int>("Retry", (context, input) => context.CallActivityAsync<int>(
                "Flaky", input, TaskOptions.FromRetryPolicy(new RetryPolicy(maxNumberOfAttempts: 3, firstRetryInterval: TimeSpan.FromMilliseconds(500)))));
            r.AddActivity<string, int>("Flaky", (_, _) =>
            {
                var attempt = Interlocked.Increment(ref attempts);
                return attempt < 3 ? throw new InvalidOperationException($"attempt {attempt}") : Task.FromResult(attempt);
            });
        });

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Retry", "x", Timeout);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(3, done.ReadOutputAs<int>());
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task Continue_as_new_carries_state_across_three_executions()
    {
        var stamps = 0;
        await using var host = await StartAsync(r =>
        {
            r.AddOrchestrator<Counter, Counter>("Loop", async (context, state) =>
            {
                var stamp = await context.CallActivityAsync<string>("Stamp", state.Generation);
                var next = new Counter(state.Generation + 1, [.. state.Trail, stamp]);
                if (next.Generation < 3)
                {
                    context.ContinueAsNew(next);
                }

                return next;
            });
            r.AddActivity<int, string>("Stamp", (_, generation) =>
            {
                Interlocked.Increment(ref stamps);
                return Task.FromResult($"stamp-{generation}");
            });
        });

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Loop", new Counter(0, []), Timeout);
        var createdFirst = (await host.Client.GetInstanceAsync(id, Timeout))!.CreatedAt;
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var output = done.ReadOutputAs<Counter>()!;
        Assert.Equal(3, output.Generation);
        Assert.Equal(["stamp-0", "stamp-1", "stamp-2"], output.Trail);
        // The instance shows the last execution: its input, not the first one's, and its creation time.
        Assert.Equal(2, done.ReadInputAs<Counter>()!.Generation);
        Assert.True(done.CreatedAt > createdFirst, $"CreatedAt {done.CreatedAt:O} should have moved past the first execution's {createdFirst:O}.");
        Assert.Equal(3, stamps);
    }

    [Fact]
    public async Task Raise_event_wakes_wait_for_external_event()
    {
        await using var host = await StartAsync(r =>
            r.AddOrchestrator<string, Approval>("Approve", (context, _) => context.WaitForExternalEvent<Approval>("approval")));

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Approve", "x", Timeout);
        await host.Client.WaitForInstanceStartAsync(id, Timeout);
        await host.Client.RaiseEventAsync(id, "approval", new Approval("Linus", true), Timeout);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(new Approval("Linus", true), done.ReadOutputAs<Approval>());
    }

    [Fact]
    public async Task Terminate_ends_the_instance_with_its_output_but_activities_already_queued_still_run()
    {
        var blocks = 0;
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(
            r =>
            {
                r.AddOrchestrator<string, string>("Hold", async (context, _) =>
                {
                    await Task.WhenAll(context.CallActivityAsync<string>("Block", "a"), context.CallActivityAsync<string>("Block", "b"));
                    return "finished";
                });
                r.AddActivity<string, string>("Block", async (_, tag) =>
                {
                    Interlocked.Increment(ref blocks);
                    firstStarted.TrySetResult();
                    await release.Task;
                    return tag;
                });
            },
            // One activity at a time: the second "Block" waits in the work-item queue while the instance is terminated.
            new AzureStorageDurableHostOptions { MaxConcurrentActivities = 1 });

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Hold", "x", Timeout);
        await firstStarted.Task.WaitAsync(Timeout);
        await host.Client.TerminateInstanceAsync(id, "stopped by the test", Timeout);
        var terminated = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, terminated.RuntimeStatus);
        Assert.Equal("stopped by the test", terminated.ReadOutputAs<string>());
        Assert.Equal(1, Volatile.Read(ref blocks));

        // Terminating does not touch the work-item queue: the running activity finishes and the queued one runs.
        release.SetResult();
        await WaitUntilAsync(() => Volatile.Read(ref blocks) == 2, TimeSpan.FromSeconds(20));
        await Task.Delay(TimeSpan.FromSeconds(1), Timeout);
        var after = await host.Client.GetInstanceAsync(id, getInputsAndOutputs: true, Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, after!.RuntimeStatus);
        Assert.Equal("stopped by the test", after.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Suspend_holds_an_instance_and_its_events_until_resume()
    {
        await using var host = await StartAsync(r =>
            r.AddOrchestrator<string, string>("Wait", (context, _) => context.WaitForExternalEvent<string>("go")));

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "x", Timeout);
        await host.Client.WaitForInstanceStartAsync(id, Timeout);
        await host.Client.SuspendInstanceAsync(id, "hold on", Timeout);
        await PollAsync(host.Client, id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Suspended);

        await host.Client.RaiseEventAsync(id, "go", "went", Timeout);
        await Task.Delay(TimeSpan.FromSeconds(2), Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, (await host.Client.GetInstanceAsync(id, Timeout))!.RuntimeStatus);

        await host.Client.ResumeInstanceAsync(id, "go on", Timeout);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("went", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Get_all_instances_filters_by_status_prefix_and_creation_time_and_pages()
    {
        await using var host = await StartAsync(r =>
        {
            r.AddOrchestrator<string, string>("Wait", (context, _) => context.WaitForExternalEvent<string>("go"));
            r.AddOrchestrator<string, string>("Quick", (_, input) => Task.FromResult(input));
        });
        var started = DateTimeOffset.UtcNow.AddSeconds(-5);
        string[] running = ["run-0", "run-1", "run-2"];
        foreach (var runId in running)
        {
            await host.Client.ScheduleNewOrchestrationInstanceAsync("Wait", runId, new StartOrchestrationOptions(runId), Timeout);
        }

        await host.Client.ScheduleNewOrchestrationInstanceAsync("Quick", "q", new StartOrchestrationOptions("done-0"), Timeout);
        foreach (var runId in running)
        {
            await host.Client.WaitForInstanceStartAsync(runId, Timeout);
        }

        await host.Client.WaitForInstanceCompletionAsync("done-0", Timeout);

        var runningNow = await QueryAsync(host.Client, new OrchestrationQuery(Statuses: [OrchestrationRuntimeStatus.Running]));
        Assert.Equal(running, runningNow.Select(m => m.InstanceId).Order(StringComparer.Ordinal));
        Assert.All(runningNow, m => Assert.Null(m.SerializedInput));

        var completed = await QueryAsync(host.Client, new OrchestrationQuery(Statuses: [OrchestrationRuntimeStatus.Completed], FetchInputsAndOutputs: true));
        Assert.Equal("done-0", Assert.Single(completed).InstanceId);
        Assert.Equal("q", completed[0].ReadOutputAs<string>());

        var byPrefix = await QueryAsync(host.Client, new OrchestrationQuery(InstanceIdPrefix: "run-"));
        Assert.Equal(3, byPrefix.Count);
        Assert.Empty(await QueryAsync(host.Client, new OrchestrationQuery(CreatedFrom: DateTimeOffset.UtcNow.AddMinutes(1))));
        Assert.Equal(4, (await QueryAsync(host.Client, new OrchestrationQuery(CreatedFrom: started, CreatedTo: DateTimeOffset.UtcNow.AddMinutes(1)))).Count);

        // Page size 2 over four instances: pages of at most two, chained by continuation tokens, covering all four.
        var pages = new List<Page<OrchestrationMetadata>>();
        await foreach (var page in host.Client.GetAllInstancesAsync(new OrchestrationQuery(PageSize: 2)).AsPages())
        {
            pages.Add(page);
        }

        Assert.All(pages, p => Assert.InRange(p.Values.Count, 0, 2));
        Assert.Equal(4, pages.Sum(p => p.Values.Count));
        Assert.True(pages.Count >= 2, $"Expected several pages, got {pages.Count}.");
    }

    [Fact]
    public async Task Dedupe_statuses_refuse_a_second_start_of_the_same_id()
    {
        await using var host = await StartAsync(r =>
            r.AddOrchestrator<string, string>("Wait", (context, _) => context.WaitForExternalEvent<string>("go")));
        var once = new StartOrchestrationOptions("only-once").WithDedupeStatuses(
            OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Completed);

        await host.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "first", once, Timeout);
        // Refused while the first is still Pending (the instance row is written at once)...
        var pending = await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(
            () => host.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "second", once, Timeout));
        Assert.IsAssignableFrom<InvalidOperationException>(pending);

        // ...and once it completed.
        await host.Client.WaitForInstanceStartAsync("only-once", Timeout);
        await host.Client.RaiseEventAsync("only-once", "go", "first went", Timeout);
        await host.Client.WaitForInstanceCompletionAsync("only-once", Timeout);
        await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(
            () => host.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "third", once, Timeout));
        var kept = await host.Client.GetInstanceAsync("only-once", getInputsAndOutputs: true, Timeout);
        Assert.Equal("first", kept!.ReadInputAs<string>());
        Assert.Equal("first went", kept.ReadOutputAs<string>());

        // An empty list reuses any status: the id starts over with a new execution.
        await host.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "fourth", new StartOrchestrationOptions("only-once").WithDedupeStatuses(), Timeout);
        var again = await PollAsync(host.Client, "only-once", m => m.ReadInputAs<string>() == "fourth");
        Assert.NotEqual(OrchestrationRuntimeStatus.Completed, again.RuntimeStatus);
    }

    [Fact]
    public async Task Terminate_suspend_resume_and_raise_refuse_a_finished_instance_as_the_Functions_host_does()
    {
        await using var host = await StartAsync(RegisterHello);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(HelloOrchestrator, new Person("Done", 3), Timeout);
        await host.Client.WaitForInstanceCompletionAsync(id, Timeout);

        // The host checks the state first and answers FailedPrecondition, which the isolated worker's gRPC client
        // throws as RpcException: a DELETE racing a generation that just finished sees this, not a silent success.
        Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(() => host.Client.TerminateInstanceAsync(id, "late", Timeout))).StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(() => host.Client.RaiseEventAsync(id, "go", "late", Timeout))).StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(() => host.Client.SuspendInstanceAsync(id, "late", Timeout))).StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(() => host.Client.ResumeInstanceAsync(id, "late", Timeout))).StatusCode);
        var after = await host.Client.GetInstanceAsync(id, getInputsAndOutputs: true, Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, after!.RuntimeStatus);
        Assert.Equal(new Greeting("Hello, Done!", 4), after.ReadOutputAs<Greeting>());

        // An unknown instance: an event is dropped without a word, a terminate fails.
        await host.Client.RaiseEventAsync("no-such-instance", "go", "late", Timeout);
        Assert.Equal(StatusCode.Unknown, (await Assert.ThrowsAsync<RpcException>(() => host.Client.TerminateInstanceAsync("no-such-instance", cancellation: Timeout))).StatusCode);
    }

    [Fact]
    public async Task A_durable_timer_fires_up_to_a_second_early_because_queue_delays_are_whole_seconds()
    {
        await using var host = await StartAsync(
            r => r.AddOrchestrator<double, TimerSeen>("Timer", async (context, seconds) =>
            {
                var fireAt = context.CurrentUtcDateTime.AddSeconds(seconds);
                await context.CreateTimer(fireAt, CancellationToken.None);
                return new TimerSeen(fireAt, context.CurrentUtcDateTime);
            }),
            // Poll often, so the delay measured is the queue's, not the poller's back-off.
            new AzureStorageDurableHostOptions { MaxQueuePollingInterval = TimeSpan.FromMilliseconds(100) });

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Timer", 2.95, Timeout);
        var seen = (await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout)).ReadOutputAs<TimerSeen>()!;

        // DurableTask.AzureStorage sends the timer message with a visibility delay of (fireAt - now), and the queue
        // takes whole seconds (the SDK truncates): 2 s for this 2.95 s timer. The orchestrator resumes before fireAt,
        // and CurrentUtcDateTime after the await reads earlier than the time the timer was set for.
        var early = seen.FireAt - seen.ResumedAt;
        Assert.InRange(early, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1.05));
    }

    [Fact]
    public async Task Start_at_keeps_an_instance_pending_until_then()
    {
        await using var host = await StartAsync(RegisterHello);
        var startAt = DateTimeOffset.UtcNow.AddSeconds(3);

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(
            HelloOrchestrator, new Person("Later", 1), new StartOrchestrationOptions(StartAt: startAt), Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await host.Client.GetInstanceAsync(id, Timeout))!.RuntimeStatus);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, Timeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        // Not exactly "until then": the start message's visibility delay is whole seconds too (truncated), so the
        // instance may start up to a second early.
        Assert.True(done.LastUpdatedAt >= startAt.AddSeconds(-1.05), $"Finished at {done.LastUpdatedAt:O}, over a second before the start time {startAt:O}.");
    }

    [Fact]
    public async Task Purge_removes_a_finished_instance()
    {
        await using var host = await StartAsync(RegisterHello);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(HelloOrchestrator, new Person("Gone", 2), Timeout);
        await host.Client.WaitForInstanceCompletionAsync(id, Timeout);

        var purged = await host.Client.PurgeInstanceAsync(id, cancellation: Timeout);

        Assert.Equal(1, purged.PurgedInstanceCount);
        Assert.Null(await host.Client.GetInstanceAsync(id, Timeout));
    }

    [Fact]
    public async Task An_activity_longer_than_the_visibility_timeout_runs_exactly_once_because_its_lock_is_renewed()
    {
        var invocations = 0;
        var options = new AzureStorageDurableHostOptions
        {
            WorkItemQueueVisibilityTimeout = TimeSpan.FromSeconds(15),
            // A pass-through until crashed (it never is here); it counts the lock renewals that reach storage.
            EnableSimulatedCrash = true,
        };
        await using var host = await StartAsync(
            r =>
            {
                r.AddOrchestrator<int, int>("Long", (context, seconds) => context.CallActivityAsync<int>("Sleep", seconds));
                r.AddActivity<int, int>("Sleep", async (_, seconds) =>
                {
                    var invocation = Interlocked.Increment(ref invocations);
                    await Task.Delay(TimeSpan.FromSeconds(seconds));
                    return invocation;
                });
            },
            options);

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Long", 40, Timeout);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(1, done.ReadOutputAs<int>());
        Assert.Equal(1, Volatile.Read(ref invocations));
        // The dispatcher checks every 5 s and renews once the lock is within 30 s of expiring: always, for 15 s.
        Assert.InRange(host.CrashSwitch!.ActivityRenewals, 5, 10);
    }

    [Fact]
    public async Task A_work_item_whose_worker_stops_renewing_reappears_after_the_visibility_timeout()
    {
        var visibility = TimeSpan.FromSeconds(10);
        var invocations = 0;
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondStarted = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var hang = new CancellationTokenSource();
        void Register(ITaskRegistrar r)
        {
            r.AddOrchestrator<string, string>("Once", (context, input) => context.CallActivityAsync<string>("Work", input));
            r.AddActivity<string, string>("Work", async (_, _) =>
            {
                var invocation = Interlocked.Increment(ref invocations);
                if (invocation == 1)
                {
                    firstStarted.TrySetResult();
                    await Task.Delay(System.Threading.Timeout.Infinite, hang.Token);
                }

                secondStarted.TrySetResult(DateTime.UtcNow);
                return $"done by invocation {invocation}";
            });
        }

        var hub = AzureStorageDurableHost.NewTaskHubName();
        try
        {
            await using var first = await AzureStorageDurableHost.StartAsync(
                azurite.ConnectionString, hub, Register, new AzureStorageDurableHostOptions { WorkItemQueueVisibilityTimeout = visibility, EnableSimulatedCrash = true });
            var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Once", "x", Timeout);
            await firstStarted.Task.WaitAsync(Timeout);
            // Let one renewal through first, so what stops is renewing, not a lock that was never renewed.
            await WaitUntilAsync(() => first.CrashSwitch!.ActivityRenewals >= 1, TimeSpan.FromSeconds(15));
            await first.SimulateCrashAsync();
            var lockedUntil = first.CrashSwitch!.LastActivityLockUntilUtc;
            var crashedAt = DateTime.UtcNow;

            // A fresh worker on the same hub, as after a process restart.
            await using var second = await AzureStorageDurableHost.StartAsync(
                azurite.ConnectionString, hub, Register, new AzureStorageDurableHostOptions { WorkItemQueueVisibilityTimeout = visibility });
            var reappearedAt = await secondStarted.Task.WaitAsync(Timeout);
            var done = await second.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout);

            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal("done by invocation 2", done.ReadOutputAs<string>());
            Assert.Equal(2, Volatile.Read(ref invocations));
            Assert.InRange(lockedUntil - crashedAt, TimeSpan.FromSeconds(3), visibility);
            // Not before the last lock ran out, and soon after it (the new worker polls at least every 500 ms).
            Assert.InRange(reappearedAt, lockedUntil.AddSeconds(-1), lockedUntil.AddSeconds(4));
        }
        finally
        {
            await hang.CancelAsync();
        }
    }

    private const string HelloOrchestrator = "Hello";

    private static void RegisterHello(ITaskRegistrar r)
    {
        r.AddOrchestrator<Person, Greeting>(HelloOrchestrator, async (context, person) =>
        {
            var text = await context.CallActivityAsync<string>("SayHello", person.Name);
            return new Greeting(text, person.Age + 1);
        });
        r.AddActivity<string, string>("SayHello", (_, name) => Task.FromResult($"Hello, {name}!"));
    }

    private static async Task<List<OrchestrationMetadata>> QueryAsync(DurableTaskClient client, OrchestrationQuery query)
    {
        var all = new List<OrchestrationMetadata>();
        await foreach (var metadata in client.GetAllInstancesAsync(query))
        {
            all.Add(metadata);
        }

        return all;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < limit, $"Condition not met within {limit.TotalSeconds} s.");
            await Task.Delay(100);
        }
    }

    private Task<AzureStorageDurableHost> StartAsync(Action<ITaskRegistrar> register, AzureStorageDurableHostOptions? options = null) =>
        AzureStorageDurableHost.StartAsync(azurite.ConnectionString, AzureStorageDurableHost.NewTaskHubName(), register, options);

    private async Task<OrchestrationMetadata> PollAsync(DurableTaskClient client, string id, Func<OrchestrationMetadata, bool> condition)
    {
        while (true)
        {
            var metadata = await client.GetInstanceAsync(id, getInputsAndOutputs: true, Timeout);
            if (metadata is not null && condition(metadata))
            {
                return metadata;
            }

            await Task.Delay(200, Timeout);
        }
    }

    public sealed record Person(string Name, int Age);

    public sealed record Greeting(string Text, int AgeNextYear);

    public sealed record Progress(string Phase, int Step);

    public sealed record FailureSeen(bool IsInvalidOperation, string ErrorType, string ErrorMessage);

    public sealed record Counter(int Generation, string[] Trail);

    public sealed record Approval(string By, bool Approved);

    public sealed record TimerSeen(DateTime FireAt, DateTime ResumedAt);
}
