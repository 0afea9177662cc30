namespace FewStep.Onnx.Benchmarking;

/// <summary>What the pipeline benchmark runs: one request shape at each batch size, after warm-up runs.</summary>
public sealed record BenchmarkSettings
{
    public string Prompt { get; init; } = "a photo of a red fox in the snow, detailed, golden hour";

    public int Steps { get; init; } = 1;

    public float GuidanceScale { get; init; }

    public int? Width { get; init; }

    public int? Height { get; init; }

    /// <summary>Images per run; each size is measured separately (the issue asks for 1 and 4).</summary>
    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 4];

    public int Runs { get; init; } = 5;

    public int WarmupRuns { get; init; } = 1;

    public long Seed { get; init; } = 42;
}
