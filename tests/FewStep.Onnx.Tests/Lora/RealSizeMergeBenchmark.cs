using System.Diagnostics;
using System.Text.Json;
using FewStep.Onnx.Lora;
using Xunit.Abstractions;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// The real-size SD-Turbo UNet graph (skeletons/realsize-sd-turbo, 3.46 GB of float32 weights in model.onnx_data,
/// here a sparse file of zeros): a rank-8 LoRA merged into every one of its 282 mergeable layers, timed, with the
/// process's peak memory, which shows that only the merged copies are held (no second copy of the model).
/// </summary>
public sealed class RealSizeMergeBenchmark(ITestOutputHelper output) : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-lora-realsize-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [LoraBenchmarkFact]
    public void Merging_rank_8_into_every_layer_of_the_real_size_unet()
    {
        var skeleton = Path.Combine(ConformancePaths.Root, "skeletons", "realsize-sd-turbo", "unet");
        using var fill = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(skeleton, "fill.json")));
        var model = Path.Combine(_temp, "model.onnx");
        File.Copy(Path.Combine(skeleton, "model.onnx"), model);
        using (var data = File.Create(Path.Combine(_temp, fill.RootElement.GetProperty("data_file").GetString()!)))
        {
            data.SetLength(fill.RootElement.GetProperty("data_bytes").GetInt64());
        }

        var index = OnnxWeightIndex.Read(model);
        var random = new Random(8);
        var loras = index.Layers.Select(layer => (TinyModelMergeTests.RandomRank8(random, "unet", layer), 1f)).ToList();
        GC.Collect();
        var before = Process.GetCurrentProcess().WorkingSet64;
        var clock = Stopwatch.StartNew();

        using var merged = LoraMerge.Merge(index, "unet", loras);

        clock.Stop();
        using var process = Process.GetCurrentProcess();
        var statistics = merged.Statistics;
        output.WriteLine($"real-size sd-turbo unet: {statistics.LayersMerged} layers, {statistics.InitializersReplaced} initializers, " +
            $"{statistics.ReplacedBytes / 1e9:F2} GB replaced, merge {statistics.Elapsed.TotalSeconds:F2} s; working set before " +
            $"{before / 1e9:F2} GB, peak {process.PeakWorkingSet64 / 1e9:F2} GB; {Environment.ProcessorCount} cores");
        Assert.Equal(282, statistics.InitializersReplaced);
    }
}
