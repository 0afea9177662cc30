using System.Diagnostics;
using System.Globalization;
using FewStep.Functions.Contracts;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Tests.Support;
using Microsoft.DurableTask;

namespace FewStep.Benchmarks;

/// <summary>
/// Orchestration overhead: N images through the real orchestrators and activities on the in-process durable
/// host, with a renderer that makes no pixels and an in-memory store. Reports wall time, images/s and the time
/// per image the orchestration adds.
/// </summary>
internal static class OrchestrationBenchmark
{
    public static async Task<int> RunAsync(int images, int batchSize, int runs)
    {
        if (Environment.GetEnvironmentVariable("DOTNET_PROCESSOR_COUNT") is null)
        {
            Console.Error.WriteLine("note: the in-process host runs at most processor-count activities at once; " +
                "set DOTNET_PROCESSOR_COUNT=1024 to measure the orchestration rather than that cap.");
        }

        var renderer = new FakeRenderer();
        var store = new InMemoryImageStore();
        await using var host = await DurableTestHost.StartAsync(renderer, store);
        var walls = new List<double>();
        for (var run = 0; run < runs + 1; run++)
        {
            var id = $"bench-{run}";
            var input = new GenerationInput(
                id,
                new GenerationSpec
                {
                    Model = "noop",
                    Prompts = ["a benchmark"],
                    NumInferenceSteps = 1,
                    GuidanceScale = 0,
                    Width = 64,
                    Height = 64,
                    Seed = 1,
                    NumImagesPerPrompt = images,
                },
                $"generations/{id}",
                batchSize,
                SubOrchestrationThreshold: 64,
                BatchesPerSubOrchestration: 64,
                new RetrySettings(3, TimeSpan.FromSeconds(1), 2),
                new RetrySettings(3, TimeSpan.FromSeconds(1), 2),
                DateTimeOffset.UtcNow);
            var start = Stopwatch.GetTimestamp();
            await host.Client.ScheduleNewOrchestrationInstanceAsync(GenerateImagesOrchestrator.Name, input, new StartOrchestrationOptions { InstanceId = id });
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            var result = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: false, cts.Token);
            var wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (result.RuntimeStatus != Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed)
            {
                Console.Error.WriteLine($"run {run}: {result.RuntimeStatus}");
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
            $"(processor count {Environment.ProcessorCount})"));
        return 0;
    }
}
