namespace FewStep.Onnx.Models;

/// <summary>
/// The external-data files an ONNX model references, read from the model itself. A model over protobuf's 2 GB limit
/// keeps its weights beside it (<c>model.onnx_data</c>, <c>model.onnx.data</c>, <c>weights.pb</c>, one file per
/// tensor, or several shards) under names only the model knows, so a downloader that guessed the name would fetch a
/// model ONNX Runtime then cannot load.
/// </summary>
/// <remarks>
/// ONNX Runtime's C# API does not expose these locations (it resolves them itself at session creation, after the
/// files must already be present), and FewStep.Onnx does not reference Google.Protobuf, so the model is read with
/// the small hand-written wire-format reader in <see cref="ProtobufWireReader"/>, which skips <c>raw_data</c> and
/// every other large field by length instead of buffering it.
/// </remarks>
public static class OnnxExternalData
{
    /// <summary>
    /// The distinct external-data locations that the ONNX model at <paramref name="path"/> references: paths relative
    /// to the model's folder, '/'-separated, in first-seen order. Empty for a model whose weights are all inline.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The file is not valid protobuf (the message names the file and byte offset), or a location is absolute or
    /// leaves the model's folder.
    /// </exception>
    public static IReadOnlyList<string> ReadLocations(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);

        // bufferSize 0: the wire reader buffers, and a second buffer in FileStream would only copy bytes twice.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        return Scan(stream, path);
    }

    /// <summary>
    /// The distinct external-data locations of the ONNX model read from <paramref name="stream"/> (from its current
    /// position to its end), as <see cref="ReadLocations(string)"/>. Large fields are skipped by seeking where the
    /// stream can seek and by reading and discarding in chunks where it cannot (a download in progress).
    /// </summary>
    /// <exception cref="InvalidDataException">As <see cref="ReadLocations(string)"/>.</exception>
    public static IReadOnlyList<string> ReadLocations(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream cannot be read.", nameof(stream));
        }

        return Scan(stream, stream is FileStream file ? file.Name : "the ONNX model stream");
    }

    /// <summary>
    /// Checks a location as written in the model and returns it '/'-separated, without empty or "." segments. Any ".."
    /// segment is refused, even one that would resolve inside the folder: the downloader joins the location to a
    /// local folder and a URL, and must never be steered out of either.
    /// </summary>
    internal static string ValidateLocation(string location, string sourceName)
    {
        if (location.Length == 0 || location.Contains('\0', StringComparison.Ordinal))
        {
            throw Refused(location, sourceName, "is empty or contains a NUL character");
        }

        // onnx.proto says POSIX paths, but exporters on Windows have written backslashes; treat both as separators.
        var unified = location.Replace('\\', '/');
        var driveLetter = unified.Length >= 2 && char.IsAsciiLetter(unified[0]) && unified[1] == ':';
        if (unified[0] == '/' || driveLetter || Path.IsPathRooted(location))
        {
            throw Refused(location, sourceName, "is an absolute path");
        }

        var segments = unified.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(segment => segment != ".").ToArray();
        if (segments.Contains(".."))
        {
            throw Refused(location, sourceName, "leaves the model's folder ('..')");
        }

        return segments.Length == 0
            ? throw Refused(location, sourceName, "names no file")
            : string.Join('/', segments);
    }

    private static List<string> Scan(Stream stream, string sourceName)
    {
        var scanner = new OnnxExternalDataScanner(stream, sourceName);
        scanner.Scan();
        return [.. scanner.Locations];
    }

    private static InvalidDataException Refused(string location, string sourceName, string reason) =>
        new($"The ONNX model '{sourceName}' references external data at '{location}', which {reason}; " +
            "external data must lie inside the model's folder, so it is refused.");
}
