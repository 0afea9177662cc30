using System.Text.Json.Serialization;

namespace FewStep.Cli.Hub;

/// <summary>One pulled file: its path in the folder, size and sha256.</summary>
public sealed record PullRecordFile(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("sha256")] string Sha256);
