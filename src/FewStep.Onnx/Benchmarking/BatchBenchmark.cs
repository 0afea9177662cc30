namespace FewStep.Onnx.Benchmarking;

/// <summary>Medians over the measured runs at one batch size; times in milliseconds.</summary>
/// <param name="Stages">Median milliseconds per stage, pipeline order; <c>png_encode</c> last (outside the pipeline).</param>
public sealed record BatchBenchmark(
    int BatchSize,
    int Runs,
    double MedianMs,
    double MedianWithPngMs,
    double MedianOnnxMs,
    double ImagesPerSecond,
    double OverheadRatio,
    IReadOnlyList<KeyValuePair<string, double>> Stages);
