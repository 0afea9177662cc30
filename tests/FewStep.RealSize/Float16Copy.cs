using System.Diagnostics;
using FewStep.Onnx.Graphs;

namespace FewStep.RealSize;

/// <summary>
/// A float16 copy of a filled real-size model (<c>DIR-float16</c> beside it): the same architecture as users' float16
/// GPU exports, at half the weight bytes. Reused while the filled model it was made from is unchanged.
/// </summary>
public static class Float16Copy
{
    private const string StampName = ".fewstep-float16-of.json";

    /// <summary>The float16 folder for <paramref name="filled"/>, made now unless a copy of this very fill is there.</summary>
    public static FilledModel Ensure(FilledModel filled, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filled);
        var start = Stopwatch.GetTimestamp();
        var output = filled.Folder + "-float16";
        var source = File.ReadAllText(Path.Combine(filled.Folder, FillStamp.FileName));
        Directory.CreateDirectory(output);
        using var fillLock = FillLock.Acquire(output, progress, cancellationToken);
        var stamp = Path.Combine(output, StampName);
        var sizes = filled.DataBytes.ToDictionary(e => e.Key, e => e.Value / 2, StringComparer.Ordinal);
        if (File.Exists(stamp) && File.ReadAllText(stamp) == source)
        {
            return new FilledModel(output, sizes, Stopwatch.GetElapsedTime(start), Reused: true);
        }

        File.Delete(stamp);
        progress?.Report($"converting {filled.Folder} to float16 in {output}");
        Float16Conversion.ConvertFolder(filled.Folder, output);
        File.WriteAllText(stamp, source);
        var elapsed = Stopwatch.GetElapsedTime(start);
        progress?.Report($"float16 copy written in {elapsed.TotalSeconds:F1} s");
        return new FilledModel(output, sizes, elapsed, Reused: false);
    }
}
