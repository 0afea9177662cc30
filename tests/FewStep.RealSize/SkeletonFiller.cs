using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace FewStep.RealSize;

/// <summary>
/// Turns a real-size skeleton (a model folder whose large weights were left out, see
/// <c>../shared/conformance/skeletons/README.md</c>) into a complete model folder with deterministic random weights.
/// </summary>
public static class SkeletonFiller
{
    /// <summary>
    /// Makes <paramref name="outputFolder"/> a complete model folder: every skeleton file but fill.json copied, and
    /// each component's external-data file written with values drawn from N(mean, std) per tensor, seeded by
    /// (<paramref name="seed"/>, tensor name). Returns at once, writing nothing, when the folder already holds this
    /// fill (same skeleton, same contents, same seed, data files intact). Safe to call from several processes.
    /// </summary>
    /// <exception cref="InvalidDataException">A fill.json is malformed; the message names the file and tensor.</exception>
    /// <exception cref="DirectoryNotFoundException">The skeleton folder does not exist.</exception>
    public static FilledModel Fill(
        string skeletonFolder,
        string outputFolder,
        ulong seed = 0,
        IProgress<string>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(skeletonFolder);
        ArgumentException.ThrowIfNullOrEmpty(outputFolder);
        var start = Stopwatch.GetTimestamp();
        var skeleton = Path.TrimEndingDirectorySeparator(Path.GetFullPath(skeletonFolder));
        var output = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputFolder));
        if (!Directory.Exists(skeleton))
        {
            throw new DirectoryNotFoundException($"No skeleton folder '{skeleton}'.");
        }

        if (IsSameOrInside(output, skeleton))
        {
            throw new ArgumentException($"The output folder '{output}' must lie outside the skeleton '{skeleton}'.", nameof(outputFolder));
        }

        // Everything is read and checked before anything is written.
        var specs = ReadSpecs(skeleton);
        var files = SkeletonFiles(skeleton, specs.Select(s => s.DataPath).ToHashSet(StringComparer.Ordinal));
        var expected = new FillStamp
        {
            Generator = GaussianBlocks.Generator,
            Seed = seed,
            Skeleton = skeleton,
            SkeletonSha256 = Fingerprint(skeleton, files),
            DataFiles = specs.ToDictionary(s => s.DataPath, s => s.DataBytes, StringComparer.Ordinal),
        };
        var sizes = specs.ToDictionary(s => s.Component, s => s.DataBytes, StringComparer.Ordinal);

        Directory.CreateDirectory(output);
        using var fillLock = FillLock.Acquire(output, progress, cancellationToken);
        if (FillStamp.TryRead(output) is { } stamp && stamp.Matches(expected, output) && CopiesIntact(skeleton, output, files))
        {
            return new FilledModel(output, sizes, Stopwatch.GetElapsedTime(start), Reused: true);
        }

        // From here until the new stamp the folder is incomplete, and says so by having no stamp.
        FillStamp.Delete(output);
        progress?.Report($"filling {output} from {skeleton} (seed {seed}, {expected.DataFiles.Values.Sum() / 1e9:F2} GB)");
        foreach (var file in files)
        {
            Copy(Path.Combine(skeleton, file), Path.Combine(output, file));
        }

        foreach (var spec in specs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var componentStart = Stopwatch.GetTimestamp();
            DataFileWriter.Write(spec, Path.Combine(output, spec.DataPath), seed, progress, cancellationToken);
            progress?.Report($"{spec.Component}: {spec.DataBytes / 1e9:F2} GB in {Stopwatch.GetElapsedTime(componentStart).TotalSeconds:F1} s");
        }

        (expected with { CompletedUtc = DateTimeOffset.UtcNow }).Write(output);
        var elapsed = Stopwatch.GetElapsedTime(start);
        progress?.Report($"filled {output} in {elapsed.TotalSeconds:F1} s");
        return new FilledModel(output, sizes, elapsed, Reused: false);
    }

    /// <summary>Every fill.json below the skeleton, by component folder; a skeleton without any is not one.</summary>
    private static List<FillSpec> ReadSpecs(string skeleton)
    {
        var specs = Directory.EnumerateFiles(skeleton, FillSpec.FileName, SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(path => FillSpec.Load(path, Relative(Path.GetRelativePath(skeleton, Path.GetDirectoryName(path)!))))
            .ToList();
        return specs.Count > 0
            ? specs
            : throw new InvalidDataException($"{skeleton}: no {FillSpec.FileName} in any component folder, so there is nothing to fill.");
    }

    /// <summary>The files to copy, relative and '/'-separated: all but fill.json and the data files the fill writes.</summary>
    private static List<string> SkeletonFiles(string skeleton, HashSet<string> dataFiles) =>
        Directory.EnumerateFiles(skeleton, "*", SearchOption.AllDirectories)
            .Where(path => Path.GetFileName(path) != FillSpec.FileName)
            .Select(path => Relative(Path.GetRelativePath(skeleton, path)))
            .Where(relative => !dataFiles.Contains(relative))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static string Fingerprint(string skeleton, IEnumerable<string> copied)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var all = copied.Concat(Directory.EnumerateFiles(skeleton, FillSpec.FileName, SearchOption.AllDirectories)
            .Select(path => Relative(Path.GetRelativePath(skeleton, path))))
            .Order(StringComparer.Ordinal);
        foreach (var relative in all)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(relative + "\n"));
            hash.AppendData(File.ReadAllBytes(Path.Combine(skeleton, relative)));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The small files are checked by size only: the fingerprint already covers their skeleton side.</summary>
    private static bool CopiesIntact(string skeleton, string output, List<string> files) =>
        files.All(relative =>
        {
            var copy = new FileInfo(Path.Combine(output, relative));
            return copy.Exists && copy.Length == new FileInfo(Path.Combine(skeleton, relative)).Length;
        });

    private static void Copy(string source, string destination)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);

        // The shared skeleton is read-only, and File.Copy keeps that mode: delete a previous copy rather than
        // overwrite it, and make the new one writable so the folder can be refilled or removed like any other.
        if (File.Exists(destination))
        {
            File.SetAttributes(destination, FileAttributes.Normal);
            File.Delete(destination);
        }

        File.Copy(source, destination);
        File.SetAttributes(destination, File.GetAttributes(destination) & ~FileAttributes.ReadOnly);
    }

    private static string Relative(string path) => path.Replace(Path.DirectorySeparatorChar, '/');

    private static bool IsSameOrInside(string path, string folder) =>
        string.Equals(path, folder, StringComparison.Ordinal)
        || path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
