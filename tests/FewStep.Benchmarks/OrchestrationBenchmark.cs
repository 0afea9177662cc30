using System.Diagnostics;
using System.Globalization;
using FewStep.Functions;
using FewStep.Functions.Contracts;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Plans;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Tests.Support.Durable;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Benchmarks;

/// <summary>
/// The run orchestration with the app's real activities on the in-process durable host, a renderer that makes no
/// pixels (or takes a set time per batch) and in-memory stores. <c>orchestration</c>: N images, wall time and the
/// time per image the orchestration adds. <c>fairness</c>: a 1-image request sent while a 2,000-image one renders
/// (100 ms per batch): how long it takes and how many of the large run's batches start before it.
/// </summary>
internal static class OrchestrationBenchmark
{
    public static async Task<int> RunAsync(int images, int batchSize, int runs)
    {
        WarnAboutProcessorCount();
        await using var app = await BenchApp.StartAsync(batchSize, TimeSpan.Zero);
        var walls = new List<double>();
        for (var run = 0; run < runs + 1; run++)
        {
            var start = Stopwatch.GetTimestamp();
            var id = await app.StartAsync($"bench-{run}", images);
            var result = await app.WaitAsync(id);
            var wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (result.ReadOutputAs<RunOutput>()?.Status != RunStatuses.Succeeded)
            {
                Console.Error.WriteLine($"run {run}: {result.RuntimeStatus} {result.SerializedOutput}");
                return 1;
            }

            if (run > 0)
            {
                walls.Add(wall);
            }
        }

        var median = walls.Order().ElementAt(walls.Count / 2);
        var batches = (images + batchSize - 1) / batchSize;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"orchestration: {images} images in {batches} batches of {batchSize}, median of {runs} runs (after 1 warm-up): " +
            $"{median:F2} s wall, {images / median:F0} images/s, {median * 1000 / images:F2} ms orchestration overhead per image " +
            $"(render window {app.Options.RenderWindow}, processor count {Environment.ProcessorCount})"));
        return 0;
    }

    public static async Task<int> RunFairnessAsync(int largeImages, int batchSize, TimeSpan perBatch)
    {
        WarnAboutProcessorCount();
        await using var app = await BenchApp.StartAsync(batchSize, perBatch);
        var large = await app.StartAsync("large", largeImages);
        while (app.Renderer.Calls < 5)
        {
            await Task.Delay(10);
        }

        var sentAt = app.Renderer.Clock.Elapsed;
        var start = Stopwatch.GetTimestamp();
        var small = await app.StartAsync("small", 1, prompt: "small");
        await app.WaitAsync(small);
        var took = Stopwatch.GetElapsedTime(start);
        var starts = app.Renderer.Starts.Snapshot();
        var smallStart = starts.Single(s => s.Job.Items[0].Prompt == "small").At;
        var between = starts.Count(s => s.At > sentAt && s.At < smallStart && s.Job.Items[0].Prompt != "small");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fairness: a 1-image request sent while a {largeImages}-image one renders ({perBatch.TotalMilliseconds:F0} ms per batch of {batchSize}) " +
            $"finished in {took.TotalSeconds:F2} s; {between} batches of the large request started before it (render window {app.Options.RenderWindow})"));
        await app.Services.GetRequiredService<FewStep.Functions.Cancellation.RunCancellation>().RequestAsync(large, CancellationToken.None);
        await app.WaitAsync(large);
        return 0;
    }

    private static void WarnAboutProcessorCount()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_PROCESSOR_COUNT") is null)
        {
            Console.Error.WriteLine("note: the in-process host runs at most processor-count activities at once; " +
                "set DOTNET_PROCESSOR_COUNT=1024 to measure the orchestration rather than that cap.");
        }
    }

    /// <summary>The app's service graph with in-memory stores and a fake renderer, and its tasks on the in-process host.</summary>
    private sealed class BenchApp : IAsyncDisposable
    {
        private readonly DirectoryInfo _models = Directory.CreateTempSubdirectory("fewstep-bench-");
        private Microsoft.DurableTask.Testing.DurableTaskTestHost _host = null!;

        public ServiceProvider Services { get; private set; } = null!;

        public FakeRenderer Renderer { get; } = new();

        public FewStep.Functions.Options.FewStepOptions Options => Services.GetRequiredService<IOptions<FewStep.Functions.Options.FewStepOptions>>().Value;

        public static async Task<BenchApp> StartAsync(int batchSize, TimeSpan perBatch)
        {
            var app = new BenchApp();
            app.Renderer.Delay = perBatch;
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                [StorageClientFactory.SettingName] = "UseDevelopmentStorage=true",
                ["FewStep:ModelRoot"] = app._models.FullName,
                ["FewStep:BatchSize"] = batchSize.ToString(CultureInfo.InvariantCulture),
            }).Build();
            app.Services = new ServiceCollection()
                .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
                .AddKeyedSingleton<IImageStore>(StoreKeys.Images, new InMemoryImageStore())
                .AddKeyedSingleton<IImageStore>(StoreKeys.Results, new InMemoryImageStore())
                .AddSingleton<IImageRenderer>(app.Renderer)
                .AddFewStep(configuration)
                .BuildServiceProvider();
            app._host = await InProcessDurableHost.StartAsync(registrar => AppTasks.Register(registrar, app.Services, CancellationToken.None));
            return app;
        }

        /// <summary>Records the request and starts its run, as <c>POST /api/generations</c> does.</summary>
        public async Task<string> StartAsync(string name, int images, string prompt = "a benchmark")
        {
            var id = $"{name}{Guid.NewGuid():N}"[..32];
            var spec = new GenerationSpec { Model = "noop", Prompts = [prompt], NumInferenceSteps = 1, GuidanceScale = 0, Width = 64, Height = 64, Seed = 1, NumImagesPerPrompt = images };
            var request = new StoredRequest(id, null, DateTimeOffset.UtcNow, Options.BatchSize, spec);
            await Services.GetRequiredService<RunPlanStore>().TryCreateRequestAsync(request, CancellationToken.None);
            await _host.Client.ScheduleNewOrchestrationInstanceAsync(RunOrchestrator.Name, RunInputs.ForGeneration(request, Options), new StartOrchestrationOptions { InstanceId = id });
            return id;
        }

        public async Task<OrchestrationMetadata> WaitAsync(string id)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            return await _host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        }

        public async ValueTask DisposeAsync()
        {
            await _host.DisposeAsync();
            await Services.DisposeAsync();
            _models.Delete(recursive: true);
        }
    }
}
