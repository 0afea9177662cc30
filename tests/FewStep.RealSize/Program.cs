using System.Globalization;

namespace FewStep.RealSize;

/// <summary>
/// <c>fill [--skeleton DIR] [--out DIR] [--seed N] [--float16]</c>: fills a skeleton and prints the model folder on
/// stdout (only that, so scripts can capture it); with <c>--float16</c>, the folder of its float16 copy beside it.
/// Progress and errors go to stderr.
/// </summary>
internal static class Program
{
    private const string Usage = "usage: FewStep.RealSize fill [--skeleton DIR] [--out DIR] [--seed N] [--float16]";

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] != "fill")
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        string? skeleton = null;
        string? output = null;
        ulong seed = 0;
        var float16 = false;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--float16":
                    float16 = true;
                    continue;
                case "--skeleton" when value is not null:
                    skeleton = value;
                    break;
                case "--out" when value is not null:
                    output = value;
                    break;
                case "--seed" when value is not null && ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed):
                    seed = parsed;
                    break;
                default:
                    Console.Error.WriteLine($"unexpected or incomplete argument '{args[i]}'");
                    Console.Error.WriteLine(Usage);
                    return 2;
            }

            i++;
        }

        try
        {
            var model = SkeletonFiller.Fill(skeleton ?? RealSizePaths.DefaultSkeleton, output ?? RealSizePaths.DefaultOutput(seed), seed, new StderrProgress());
            Console.Error.WriteLine(model.Reused
                ? $"reused {model.Folder} ({model.TotalDataBytes / 1e9:F2} GB, checked in {model.Elapsed.TotalMilliseconds:F0} ms)"
                : $"wrote {model.TotalDataBytes / 1e9:F2} GB in {model.Elapsed.TotalSeconds:F1} s");
            if (float16)
            {
                model = Float16Copy.Ensure(model, new StderrProgress());
                Console.Error.WriteLine(model.Reused ? $"reused {model.Folder}" : $"wrote {model.Folder} in {model.Elapsed.TotalSeconds:F1} s");
            }

            Console.Out.WriteLine(model.Folder);
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"fill failed: {e.Message}");
            return 1;
        }
    }

    /// <summary>Reports synchronously, unlike <see cref="Progress{T}"/>, which would post to the thread pool and reorder lines.</summary>
    private sealed class StderrProgress : IProgress<string>
    {
        public void Report(string value) => Console.Error.WriteLine(value);
    }
}
