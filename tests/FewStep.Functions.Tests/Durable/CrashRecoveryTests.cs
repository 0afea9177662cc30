using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using FewStep.Functions.Tests.Contract;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Tests.Support.Durable;
using Xunit.Abstractions;

namespace FewStep.Functions.Tests.Durable;

/// <summary>
/// A worker process killed while it holds a generation's batches (as when the host crashes), with the queue
/// visibility timeouts of the repository's host.json: a worker started right after takes the batches over once
/// their messages reappear — within about a minute — and every image is written exactly once.
/// </summary>
[Collection(AzuriteDefinition.Name)]
public sealed class CrashRecoveryTests
{
    private readonly AzuriteFixture _azurite;
    private readonly ITestOutputHelper _output;

    public CrashRecoveryTests(AzuriteFixture azurite, ITestOutputHelper output)
    {
        _azurite = azurite;
        _output = output;
    }

    [Fact]
    public async Task A_killed_workers_batches_are_taken_over_within_about_a_minute_and_each_image_is_written_once()
    {
        var (workItems, controlQueue) = HostJsonVisibilityTimeouts();
        var hub = AzureStorageDurableHost.NewTaskHubName();
        var engine = new AzureStorageDurableHostOptions { WorkItemQueueVisibilityTimeout = workItems, ControlQueueVisibilityTimeout = controlQueue };
        await using var app = await TestApp.StartAsync(o =>
        {
            o.Azurite = _azurite;
            o.Backend = DurableBackend.AzureStorage;
            o.TaskHubName = hub;
            o.StartWorker = false;
            o.DurableOptions = engine;
        });

        using var worker = StartWorker(app, hub, workItems, controlQueue);
        var rendering = new TaskCompletionSource();
        worker.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                _output.WriteLine($"worker: {line}");
                if (line.StartsWith("RENDERING", StringComparison.Ordinal))
                {
                    rendering.TrySetResult();
                }
            }
        };
        worker.BeginOutputReadLine();
        worker.BeginErrorReadLine();

        var id = (await app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":4,"seed":11}""")).GetProperty("id").GetString()!;
        await rendering.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(1));
        worker.Kill(entireProcessTree: true);
        await worker.WaitForExitAsync();
        var killedAt = Stopwatch.StartNew();

        // The host comes back a few seconds later: a new worker on the same task hub (and the same app graph).
        await Task.Delay(TimeSpan.FromSeconds(4));
        await using var restarted = await AzureStorageDurableHost.StartAsync(_azurite.ConnectionString, hub, app.RegisterTasks, engine);
        var status = await app.WaitForEndAsync(id, workItems + controlQueue + TimeSpan.FromSeconds(60));
        var recovery = killedAt.Elapsed;

        _output.WriteLine($"succeeded {recovery.TotalSeconds:F1} s after the kill (visibility timeouts {workItems.TotalSeconds} s / {controlQueue.TotalSeconds} s)");
        Assert.Equal("succeeded", status.GetProperty("status").GetString());
        Assert.InRange(recovery, TimeSpan.Zero, workItems + TimeSpan.FromSeconds(30));
        var images = status.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("blob").GetString()).ToList();
        Assert.Equal(4, images.Count);
        Assert.Equal(images.Distinct().Count(), images.Count);
        Assert.Equal([11L, 12, 13, 14], status.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("seed").GetInt64()));
        // Each batch rendered once by the new worker: the dead one's half-done work was not counted twice.
        Assert.Equal(2, app.Fake!.Calls);
        Assert.Equal(4, status.GetProperty("progress").GetProperty("completed").GetInt32());
    }

    private static (TimeSpan WorkItems, TimeSpan ControlQueue) HostJsonVisibilityTimeouts()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.At("host.json")));
        var storage = host.RootElement.GetProperty("extensions").GetProperty("durableTask").GetProperty("storageProvider");
        return (TimeSpan.Parse(storage.GetProperty("workItemQueueVisibilityTimeout").GetString()!, CultureInfo.InvariantCulture),
            TimeSpan.Parse(storage.GetProperty("controlQueueVisibilityTimeout").GetString()!, CultureInfo.InvariantCulture));
    }

    private static Process StartWorker(TestApp app, string hub, TimeSpan workItems, TimeSpan controlQueue)
    {
        var configuration = typeof(CrashRecoveryTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(RepositoryFiles.Root, "tests", "FewStep.Functions.CrashWorker", "bin", configuration, "net10.0", "FewStep.Functions.CrashWorker.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first.");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "exec", dll, hub, workItems.ToString("c", CultureInfo.InvariantCulture), controlQueue.ToString("c", CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in app.Settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        start.Environment["DOTNET_PROCESSOR_COUNT"] = null;
        return Process.Start(start) ?? throw new InvalidOperationException("the worker did not start");
    }
}
