using System.Globalization;
using FewStep.Onnx.Sessions;

namespace FewStep.Conformance;

/// <summary>
/// <c>dotnet run -c Release --project tests/FewStep.Conformance -- CASES_FOLDER --models MODELS_FOLDER
/// [--provider cpu|cuda] [--device N] [--verbose]</c>: one line per case (with --verbose: its time and each array's
/// largest difference), then "N passed, M failed"; exit code 0
/// only when every case passes, 1 when one fails, 2 for wrong arguments.
/// </summary>
internal static class Program
{
    private const string Usage =
        "usage: FewStep.Conformance CASES_FOLDER --models MODELS_FOLDER [--provider cpu|cuda] [--device N] [--verbose]";

    public static int Main(string[] args)
    {
        string? cases = null;
        string? models = null;
        var options = new OnnxExecutionOptions();
        var verbose = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--models" when i + 1 < args.Length:
                    models = args[++i];
                    break;
                case "--provider" when i + 1 < args.Length && Enum.TryParse<ExecutionProviderKind>(args[i + 1], ignoreCase: true, out var provider):
                    options.ExecutionProvider = provider;
                    i++;
                    break;
                case "--device" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var device):
                    options.DeviceId = device;
                    i++;
                    break;
                case "--verbose":
                    verbose = true;
                    break;
                case "-h" or "--help":
                    Console.WriteLine(Usage);
                    return 0;
                default:
                    if (args[i].StartsWith('-') || cases is not null)
                    {
                        Console.Error.WriteLine($"unexpected argument '{args[i]}'");
                        Console.Error.WriteLine(Usage);
                        return 2;
                    }

                    cases = args[i];
                    break;
            }
        }

        if (cases is null || models is null)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (!Directory.Exists(cases) || !Directory.Exists(models))
        {
            Console.Error.WriteLine($"no such folder: '{(Directory.Exists(cases) ? models : cases)}'");
            return 2;
        }

        var factory = new OnnxSessionFactory(options);
        using var runner = new CaseRunner(models, factory);
        int passed = 0, failed = 0;
        foreach (var directory in ConformanceCase.Discover(cases))
        {
            CaseResult result;
            try
            {
                result = runner.Run(ConformanceCase.Load(directory));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
            {
                result = new CaseResult(Path.GetFileName(directory), false, double.NaN, 0, [$"unreadable case: {e.Message}"], TimeSpan.Zero);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.Name} {(result.Passed ? "PASS" : "FAIL")} max_abs_diff={result.MaxAbsDiff:g4}{(verbose ? $" ({result.Elapsed.TotalMilliseconds:F0} ms)" : string.Empty)}"));
            if (verbose)
            {
                if (result.NoiseDrawsChecked > 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    noise: {result.NoiseDrawsChecked} draws from torch CPU generators, sha256 checked"));
                }

                foreach (var (array, diff) in result.ArrayDiffs)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {array}: max_abs_diff={diff:g4}"));
                }
            }

            foreach (var failure in result.Failures)
            {
                Console.WriteLine($"    {failure}");
            }

            if (result.Passed)
            {
                passed++;
            }
            else
            {
                failed++;
            }
        }

        if (factory.CudaFailure is { } cuda)
        {
            Console.Error.WriteLine($"note: CUDA was asked for but unusable, ran on CPU: {cuda}");
        }

        Console.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 && passed > 0 ? 0 : 1;
    }
}
