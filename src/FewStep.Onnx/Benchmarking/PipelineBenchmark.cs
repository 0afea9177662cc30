using System.Diagnostics;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Imaging;
using FewStep.Onnx.Pipelines;

namespace FewStep.Onnx.Benchmarking;

/// <summary>
/// Measures a loaded pipeline: per-stage medians, latency, images/s and the overhead ratio (pipeline wall time
/// ÷ time inside ONNX Runtime <c>Run</c>; PNG encoding is reported apart and not in the ratio).
/// </summary>
public static class PipelineBenchmark
{
    public static BenchmarkReport Run(ITextToImagePipeline pipeline, BenchmarkSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Runs, 1);
        var batches = settings.BatchSizes.Select(size => RunBatch(pipeline, settings, size, cancellationToken)).ToArray();
        var preview = MeasurePreview(pipeline, settings, batches[0], cancellationToken);
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return new BenchmarkReport(
            pipeline.Folder.Name,
            pipeline.Folder.Index.ClassName ?? pipeline.Family.ToString(),
            pipeline.Provider.ToString(),
            settings.Steps,
            settings.Width ?? pipeline.DefaultSize,
            settings.Height ?? pipeline.DefaultSize,
            process.PeakWorkingSet64 / (1024.0 * 1024.0),
            process.WorkingSet64 / (1024.0 * 1024.0),
            batches) { Preview = preview, CudaGraphs = pipeline.CudaGraphs };
    }

    // One more batch-1 run with a preview made after every step, timed apart from the runs above (so they stay clean).
    private static PreviewCost MeasurePreview(ITextToImagePipeline pipeline, BenchmarkSettings settings, BatchBenchmark headline, CancellationToken cancellationToken)
    {
        var request = new GenerationRequest
        {
            Prompts = [settings.Prompt],
            NumInferenceSteps = settings.Steps,
            GuidanceScale = settings.GuidanceScale,
            Width = settings.Width,
            Height = settings.Height,
        };
        var observer = new PreviewTimer(pipeline.Previewer, cancellationToken);
        pipeline.Generate(request, TorchNoiseSource.ForSeeds([settings.Seed]), observer, cancellationToken);
        var steps = headline.Stages.Where(s => StageTiming.IsDenoiserStep(s.Key))
            .Select(s => s.Value).ToList();
        return new PreviewCost(pipeline.Previewer.Method, observer.Width, observer.Height, Median(observer.Samples), steps.Count > 0 ? Median(steps) : double.NaN);
    }

    private sealed class PreviewTimer(Previews.LatentPreviewer previewer, CancellationToken cancellationToken) : IPipelineObserver
    {
        public List<double> Samples { get; } = [];

        public int Width { get; private set; }

        public int Height { get; private set; }

        public void OnStep(DenoisingStep step)
        {
            var start = Stopwatch.GetTimestamp();
            var image = previewer.Render(step, cancellationToken);
            _ = image.ToPng();
            Samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            (Width, Height) = (image.Width, image.Height);
        }
    }

    private static BatchBenchmark RunBatch(ITextToImagePipeline pipeline, BenchmarkSettings settings, int batchSize, CancellationToken cancellationToken)
    {
        var request = new GenerationRequest
        {
            Prompts = [settings.Prompt],
            NumImagesPerPrompt = batchSize,
            NumInferenceSteps = settings.Steps,
            GuidanceScale = settings.GuidanceScale,
            Width = settings.Width,
            Height = settings.Height,
        };
        var totals = new List<double>();
        var withPng = new List<double>();
        var onnx = new List<double>();
        var stageSamples = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var stageOrder = new List<string>();
        for (var run = 0; run < settings.WarmupRuns + settings.Runs; run++)
        {
            var seeds = Enumerable.Range(0, batchSize).Select(i => settings.Seed + i).ToArray();
            var result = pipeline.Generate(request, TorchNoiseSource.ForSeeds(seeds), cancellationToken: cancellationToken);
            var pngStart = Stopwatch.GetTimestamp();
            foreach (var image in result.Images)
            {
                PngImageEncoder.Encode(image, new ImageParameters(settings.Prompt, null, settings.Seed, settings.Steps, settings.GuidanceScale,
                    image.Width, image.Height, pipeline.Folder.Name));
            }

            var pngMs = Stopwatch.GetElapsedTime(pngStart).TotalMilliseconds;
            if (run < settings.WarmupRuns)
            {
                continue;
            }

            totals.Add(result.Timings.Total.TotalMilliseconds);
            withPng.Add(result.Timings.Total.TotalMilliseconds + pngMs);
            onnx.Add(result.Timings.OnnxTotal.TotalMilliseconds);
            foreach (var stage in result.Timings.Stages.Append(new StageTiming("png_encode", TimeSpan.FromMilliseconds(pngMs), TimeSpan.Zero)))
            {
                if (!stageSamples.TryGetValue(stage.Stage, out var samples))
                {
                    stageSamples[stage.Stage] = samples = [];
                    stageOrder.Add(stage.Stage);
                }

                samples.Add(stage.Elapsed.TotalMilliseconds);
            }
        }

        var median = Median(totals);
        var ratios = totals.Zip(onnx, (t, o) => o > 0 ? t / o : double.NaN).ToList();
        return new BatchBenchmark(
            batchSize,
            settings.Runs,
            median,
            Median(withPng),
            Median(onnx),
            batchSize / (median / 1000.0),
            Median(ratios),
            stageOrder.Select(s => new KeyValuePair<string, double>(s, Median(stageSamples[s]))).ToArray());
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
