using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace FewStep.Onnx.Lora;

/// <summary>
/// sha256 of LoRA files, computed once per file version (path, length, last write): a pipeline is identified by the
/// contents of its LoRAs, and a request should not re-hash a 400 MB file to find its cached pipeline.
/// </summary>
public static class LoraFileHashes
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), string> s_hashes = new();

    public static string Of(string path)
    {
        var info = new FileInfo(Path.GetFullPath(path));
        if (!info.Exists)
        {
            throw new FewStep.Diffusion.DiffusionException($"LoRA file '{path}' does not exist.");
        }

        return s_hashes.GetOrAdd((info.FullName, info.Length, info.LastWriteTimeUtc), key =>
        {
            using var stream = File.OpenRead(key.Path);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        });
    }
}
