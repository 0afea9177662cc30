using System.Text.Json;
using System.Text.Json.Serialization;

namespace FewStep.Cli.Hub;

/// <summary>
/// <c>.fewstep-pull.json</c> in a pulled folder: which repository, subfolder and revision, the commit actually
/// pulled, and every file with its size and sha256 — so <c>models list</c> shows the commit, a second pull of the
/// same commit downloads nothing, and <c>models verify</c> can re-hash the folder.
/// </summary>
public sealed record PullRecord(
    [property: JsonPropertyName("repo")] string Repo,
    [property: JsonPropertyName("subfolder")] string? Subfolder,
    [property: JsonPropertyName("revision")] string Revision,
    [property: JsonPropertyName("commit")] string? Commit,
    [property: JsonPropertyName("pulled_at")] DateTimeOffset PulledAt,
    [property: JsonPropertyName("files")] IReadOnlyList<PullRecordFile> Files)
{
    public const string FileName = ".fewstep-pull.json";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The record of <paramref name="folder"/>, or null when it has none (or an unreadable one).</summary>
    public static PullRecord? TryRead(string folder) => TryReadFile(Path.Combine(folder, FileName));

    /// <summary>The record of a single pulled file (<c>&lt;file&gt;.fewstep-pull.json</c> beside it), or null.</summary>
    public static PullRecord? TryReadFor(string file) => TryReadFile(file + FileName);

    private static PullRecord? TryReadFile(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<PullRecord>(File.ReadAllText(path), s_json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Writes the record through a temporary file, so a reader never sees half of it.</summary>
    public void Write(string folder) => WriteFile(Path.Combine(folder, FileName));

    /// <summary>Writes the record of a single pulled file beside it.</summary>
    public void WriteFor(string file) => WriteFile(file + FileName);

    private void WriteFile(string path)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, s_json));
        File.Move(temporary, path, overwrite: true);
    }
}
