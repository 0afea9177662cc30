using System.Text.Json;
using System.Text.Json.Serialization;

namespace FewStep.RealSize;

/// <summary>
/// <c>.fewstep-fill.json</c>, written last, after every data file is on disk: its presence with matching fields is
/// what lets a later call skip a multi-GB rewrite. A fill that was interrupted leaves no stamp and is redone.
/// </summary>
internal sealed record FillStamp
{
    public const string FileName = ".fewstep-fill.json";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    [JsonPropertyName("generator")]
    public required string Generator { get; init; }

    [JsonPropertyName("seed")]
    public required ulong Seed { get; init; }

    [JsonPropertyName("skeleton")]
    public required string Skeleton { get; init; }

    /// <summary>SHA-256 over the skeleton's files, so that a skeleton changed in place is not mistaken for the old one.</summary>
    [JsonPropertyName("skeleton_sha256")]
    public required string SkeletonSha256 { get; init; }

    /// <summary>Each data file's size, by path relative to the model folder ('/'-separated).</summary>
    [JsonPropertyName("data_files")]
    public required IReadOnlyDictionary<string, long> DataFiles { get; init; }

    [JsonPropertyName("completed_utc")]
    public DateTimeOffset CompletedUtc { get; init; }

    /// <summary>The stamp in <paramref name="folder"/>, or null when there is none or it cannot be read.</summary>
    public static FillStamp? TryRead(string folder)
    {
        var path = Path.Combine(folder, FileName);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<FillStamp>(File.ReadAllBytes(path), s_json) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>True when this stamp describes <paramref name="expected"/> and the data files still have their sizes.</summary>
    public bool Matches(FillStamp expected, string folder) =>
        Generator == expected.Generator
        && Seed == expected.Seed
        && string.Equals(Skeleton, expected.Skeleton, StringComparison.Ordinal)
        && string.Equals(SkeletonSha256, expected.SkeletonSha256, StringComparison.Ordinal)
        && DataFiles.Count == expected.DataFiles.Count
        && expected.DataFiles.All(e => DataFiles.TryGetValue(e.Key, out var size) && size == e.Value && SizeIs(Path.Combine(folder, e.Key), size));

    /// <summary>Writes the stamp through a temporary file and a rename, so that no reader sees half of it.</summary>
    public void Write(string folder)
    {
        var path = Path.Combine(folder, FileName);
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, this, s_json);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public static void Delete(string folder) => File.Delete(Path.Combine(folder, FileName));

    private static bool SizeIs(string path, long size)
    {
        var info = new FileInfo(path);
        return info.Exists && info.Length == size;
    }
}
