using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FewStep.Onnx.Benchmarking;

/// <summary>
/// The pipeline benchmark's figures: per batch size, and the headline numbers of batch 1. <see cref="WorkingSetAfterMb"/>
/// is what the process still holds once the runs are over, as a warm worker holds it between requests.
/// </summary>
public sealed record BenchmarkReport(
    string Model,
    string Pipeline,
    string Provider,
    int Steps,
    int Width,
    int Height,
    double PeakWorkingSetMb,
    double WorkingSetAfterMb,
    IReadOnlyList<BatchBenchmark> Batches)
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>How long loading the pipeline took (sessions created, weights read), when the caller measured it.</summary>
    public double? LoadMs { get; init; }

    /// <summary>The CUDA graphs the denoiser made (null: graphs off or refused by ONNX Runtime).</summary>
    public int? CudaGraphs { get; init; }

    /// <summary>What a live preview costs against a denoising step.</summary>
    public PreviewCost? Preview { get; init; }

    private BatchBenchmark Headline => Batches[0];

    /// <summary>One JSON object: <c>median_ms</c>, <c>images_per_s</c>, <c>overhead_ratio</c>, <c>peak_working_set_mb</c>, <c>stages_ms</c> (batch 1), and every batch.</summary>
    public string ToJson()
    {
        var headline = Headline;
        var document = new Dictionary<string, object>
        {
            ["model"] = Model,
            ["pipeline"] = Pipeline,
            ["provider"] = Provider,
            ["steps"] = Steps,
            ["width"] = Width,
            ["height"] = Height,
            ["batch_size"] = headline.BatchSize,
            ["runs"] = headline.Runs,
            ["median_ms"] = Round(headline.MedianMs),
            ["median_with_png_ms"] = Round(headline.MedianWithPngMs),
            ["onnx_ms"] = Round(headline.MedianOnnxMs),
            ["images_per_s"] = Round(headline.ImagesPerSecond),
            ["overhead_ratio"] = Math.Round(headline.OverheadRatio, 4),
            ["peak_working_set_mb"] = Round(PeakWorkingSetMb),
            ["working_set_after_mb"] = Round(WorkingSetAfterMb),
            ["stages_ms"] = headline.Stages.ToDictionary(s => s.Key, s => Round(s.Value)),
            ["batches"] = Batches.Select(b => new Dictionary<string, object>
            {
                ["batch_size"] = b.BatchSize,
                ["median_ms"] = Round(b.MedianMs),
                ["median_with_png_ms"] = Round(b.MedianWithPngMs),
                ["onnx_ms"] = Round(b.MedianOnnxMs),
                ["images_per_s"] = Round(b.ImagesPerSecond),
                ["overhead_ratio"] = Math.Round(b.OverheadRatio, 4),
                ["stages_ms"] = b.Stages.ToDictionary(s => s.Key, s => Round(s.Value)),
            }).ToArray(),
        };
        if (LoadMs is { } load)
        {
            document["load_ms"] = Round(load);
        }

        if (CudaGraphs is { } graphs)
        {
            document["cuda_graphs"] = graphs;
        }

        if (Preview is { } preview)
        {
            document["preview"] = new Dictionary<string, object>
            {
                ["method"] = preview.Method,
                ["width"] = preview.Width,
                ["height"] = preview.Height,
                ["median_ms"] = Round(preview.MedianMs),
                ["step_ms"] = Round(preview.StepMs),
                ["share_of_step"] = Math.Round(preview.Share, 5),
            };
        }

        return JsonSerializer.Serialize(document, s_json);
    }

    /// <summary>A plain-text table per batch size.</summary>
    public string ToTable()
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"model {Model} ({Pipeline}) on {Provider}, {Steps} step(s), {Width}x{Height}, peak working set {PeakWorkingSetMb:F0} MB, {WorkingSetAfterMb:F0} MB after the runs");
        if (CudaGraphs is { } graphs)
        {
            text.AppendLine(inv, $"CUDA graphs: {graphs} held by the denoiser");
        }

        if (Preview is { } preview)
        {
            text.AppendLine(inv, $"live preview ({preview.Method}, {preview.Width}x{preview.Height}): {preview.MedianMs:F3} ms, {preview.Share:P2} of a {preview.StepMs:F2} ms denoising step");
        }

        foreach (var batch in Batches)
        {
            text.AppendLine();
            text.AppendLine(inv, $"batch {batch.BatchSize}: median {batch.MedianMs:F2} ms ({batch.MedianWithPngMs:F2} ms with PNG), " +
                $"{batch.ImagesPerSecond:F2} images/s, overhead ratio {batch.OverheadRatio:F3} (total / ONNX Runtime {batch.MedianOnnxMs:F2} ms), {batch.Runs} runs");
            text.AppendLine(inv, $"  {"stage",-22} {"median ms",10}");
            foreach (var (stage, ms) in batch.Stages)
            {
                text.AppendLine(inv, $"  {stage,-22} {ms,10:F3}");
            }
        }

        return text.ToString();
    }

    private static double Round(double value) => Math.Round(value, 3);
}
