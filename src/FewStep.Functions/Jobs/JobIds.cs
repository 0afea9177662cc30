using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace FewStep.Functions.Jobs;

/// <summary>
/// A job's identity: its orchestration instance id comes from the container, blob name and ETag, so a
/// re-delivered trigger for the same upload finds the run already there, while a new upload of the same name
/// (a new ETag) is a new job.
/// </summary>
public static class JobIds
{
    public const string JobsContainer = "jobs";

    public static string For(string container, string blobName, string etag) =>
        "job-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{container}\n{blobName}\n{etag.Trim('"')}")))[..32];

    /// <summary>Where a job's results go: its blob name without the <c>.json</c>/<c>.jsonl</c> extension.</summary>
    public static string ResultsPrefix(string blobName)
    {
        ArgumentNullException.ThrowIfNull(blobName);
        foreach (var extension in JobFileParser.Extensions)
        {
            if (blobName.EndsWith(extension, StringComparison.OrdinalIgnoreCase))
            {
                return blobName[..^extension.Length];
            }
        }

        return blobName;
    }

    /// <summary>
    /// The seed of a job request that gives none: derived from the job and the line, so a retried or replayed
    /// plan gives the same seeds (and the manifest reports them). Kept below 2^31 so any JSON client reads it exactly.
    /// </summary>
    public static long SeedFor(string jobId, int line) =>
        BinaryPrimitives.ReadInt32LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"{jobId}#{line}"))) & int.MaxValue;
}
