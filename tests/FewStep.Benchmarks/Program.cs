using System.Globalization;
using FewStep.Diffusion;
using FewStep.Onnx.Benchmarking;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;

namespace FewStep.Benchmarks;

/// <summary>
/// Benchmarks: <c>lora --model DIR [--rank R] [--plain]</c>, the cost of merging a LoRA at load (see <see cref="LoraBenchmark"/>); <c>noise</c>, the torch generator on an SDXL batch of 4. <c>orchestration [--images N] [--batch B] [--runs R]</c>: the durable orchestration with a
/// no-op renderer; <c>fairness</c>: a 1-image request behind a 2,000-image one. Otherwise the pipeline:
/// <c>dotnet run -c Release --project tests/FewStep.Benchmarks -- --model PATH [--steps N] [--size WxH]
/// [--batch 1,4] [--runs R] [--warmup W] [--guidance G] [--provider cpu|cuda] [--device N] [--json]</c>.
/// A program that reports figures, not a timed test.
/// </summary>
internal static class Program
{
    private const string Usage =
        "usage: FewStep.Benchmarks --model PATH [--steps N] [--size WxH] [--batch 1,4] [--runs R] [--warmup W] [--guidance G] [--provider cpu|cuda] [--device N] [--json]";

    private static int RunOrchestration(string[] args)
    {
        int images = 1000, batch = 4, runs = 3;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--images": images = value; break;
                case "--batch": batch = value; break;
                case "--runs": runs = value; break;
                default:
                    Console.Error.WriteLine("usage: FewStep.Benchmarks orchestration [--images N] [--batch B] [--runs R]");
                    return 2;
            }
        }

        return OrchestrationBenchmark.RunAsync(images, batch, runs).GetAwaiter().GetResult();
    }

    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "orchestration")
        {
            return RunOrchestration(args[1..]);
        }

        if (args.Length > 0 && args[0] == "noise")
        {
            return NoiseBenchmark.Run(20);
        }

        if (args.Length > 0 && args[0] == "lora")
        {
            var loraModel = args.SkipWhile(a => a != "--model").Skip(1).FirstOrDefault();
            var rank = args.SkipWhile(a => a != "--rank").Skip(1).Select(r => int.Parse(r, CultureInfo.InvariantCulture)).FirstOrDefault(64);
            if (loraModel is null)
            {
                Console.Error.WriteLine("usage: FewStep.Benchmarks lora --model DIR [--rank R] [--plain]");
                return 2;
            }

            return LoraBenchmark.Run(loraModel, rank, args.Contains("--plain"));
        }

        if (args.Length > 0 && args[0] == "fairness")
        {
            return OrchestrationBenchmark.RunFairnessAsync(2000, 4, TimeSpan.FromMilliseconds(100)).GetAwaiter().GetResult();
        }

        string? model = null;
        var settings = new BenchmarkSettings();
        var options = new OnnxExecutionOptions();
        var json = false;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
                int NextInt() => int.Parse(Next(), CultureInfo.InvariantCulture);
                switch (args[i])
                {
                    case "--model": model = Next(); break;
                    case "--steps": settings = settings with { Steps = NextInt() }; break;
                    case "--runs": settings = settings with { Runs = NextInt() }; break;
                    case "--warmup": settings = settings with { WarmupRuns = NextInt() }; break;
                    case "--guidance": settings = settings with { GuidanceScale = float.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                    case "--batch":
                        settings = settings with { BatchSizes = Next().Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray() };
                        break;
                    case "--size":
                        var parts = Next().Split('x', 'X');
                        if (parts.Length != 2)
                        {
                            throw new FormatException("--size takes WIDTHxHEIGHT, e.g. 512x512");
                        }

                        settings = settings with { Width = int.Parse(parts[0], CultureInfo.InvariantCulture), Height = int.Parse(parts[1], CultureInfo.InvariantCulture) };
                        break;
                    case "--provider": options.ExecutionProvider = Enum.Parse<ExecutionProviderKind>(Next(), ignoreCase: true); break;
                    case "--device": options.DeviceId = NextInt(); break;
                    case "--json": json = true; break;
                    default: throw new FormatException($"unexpected argument '{args[i]}'");
                }
            }

            if (model is null)
            {
                throw new FormatException("--model is required");
            }

            if (settings.BatchSizes.Count == 0 || settings.BatchSizes.Any(b => b < 1) || settings.Runs < 1 || settings.WarmupRuns < 0)
            {
                throw new FormatException("--batch sizes and --runs must be at least 1, --warmup at least 0");
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        try
        {
            using var pipeline = TextToImagePipeline.Load(model, new OnnxSessionFactory(options));
            var report = PipelineBenchmark.Run(pipeline, settings);
            Console.WriteLine(json ? report.ToJson() : report.ToTable());
            return 0;
        }
        catch (DiffusionException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
