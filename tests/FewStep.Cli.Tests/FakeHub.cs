using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FewStep.Cli.Tests;

/// <summary>
/// Mimics the Hub for one repository: the revision listing (with sizes and LFS sha256 under <c>?blobs=true</c>),
/// <c>resolve</c> answering 302 to a CDN path with <c>X-Linked-Etag</c>, and a CDN that honours <c>Range</c>.
/// Switches make it demand a token, answer 404, 5xx or 429, cut every large file's first transfer or one file
/// mid-way, stall a transfer, slow transfers down, or serve tampered bytes. The revision "main" and the commit
/// <see cref="Commit"/> both resolve.
/// </summary>
internal sealed class FakeHub : IDisposable
{
    public const string Repo = "fewstep-test/tiny-onnx";
    public const string Revision = "main";
    public const string Commit = "0123456789abcdef0123456789abcdef01234567";
    public const string Token = "hf_test_token";

    private readonly LocalServer _server;

    public FakeHub(IReadOnlyDictionary<string, byte[]> files, ISet<string>? lfs = null)
    {
        Files = files;
        Lfs = lfs ?? files.Keys.Where(k => !k.EndsWith(".json", StringComparison.Ordinal) && !k.EndsWith(".txt", StringComparison.Ordinal)).ToHashSet();
        _server = new LocalServer(HandleAsync);
    }

    public IReadOnlyDictionary<string, byte[]> Files { get; }

    public ISet<string> Lfs { get; }

    public Uri Endpoint => _server.BaseUri;

    public IReadOnlyList<LoggedRequest> Requests => _server.Requests.ToArray();

    public bool RequireToken { get; set; }

    /// <summary>Answer <see cref="ServerErrorStatus"/> to everything while positive, counting down.</summary>
    public int ServerErrors { get; set; }

    public int ServerErrorStatus { get; set; } = 500;

    /// <summary>Answer 429 with <c>Retry-After: </c><see cref="RetryAfterSeconds"/> to file requests while positive, counting down.</summary>
    public int TooManyRequests { get; set; }

    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Cut the first transfer of every file larger than this after this many bytes.</summary>
    public int? CutEveryFileAfter { get; set; }

    /// <summary>Send this many bytes of this file, then send nothing for this long (once).</summary>
    public (string Path, int Bytes, TimeSpan For)? Stall { get; set; }

    /// <summary>Wait this long between 4 KiB chunks of every transfer (to hold a pull in progress).</summary>
    public TimeSpan ChunkDelay { get; set; }

    /// <summary>Revisions the listing was asked for, in order.</summary>
    public List<string> ListedRevisions { get; } = [];

    private readonly HashSet<string> _cut = new(StringComparer.Ordinal);

    /// <summary>Cut the connection after this many bytes of this file (once).</summary>
    public (string Path, int Bytes)? Cut { get; set; }

    /// <summary>Serve different bytes for this file than the checksum says.</summary>
    public string? Tampered { get; set; }

    /// <summary>Files listed in the revision but not needed by the pipeline (the downloader must skip them).</summary>
    public static IReadOnlyDictionary<string, byte[]> Extras { get; } = new Dictionary<string, byte[]>
    {
        ["README.md"] = "# readme"u8.ToArray(),
        ["unet/diffusion_pytorch_model.safetensors"] = new byte[100],
        ["vae_encoder/model.onnx"] = new byte[50],
        ["safety_checker/model.onnx"] = new byte[50],
        ["text_encoder/pytorch_model.bin"] = new byte[30],
        ["vae/diffusion_flax_model.msgpack"] = new byte[30],
    };

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static Dictionary<string, byte[]> FromFolder(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllBytes);

    public void Dispose() => _server.Dispose();

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = Uri.UnescapeDataString(request.Url!.AbsolutePath);
        if (ServerErrors > 0)
        {
            ServerErrors--;
            response.StatusCode = ServerErrorStatus;
            return;
        }

        var isHub = !path.StartsWith("/cdn/", StringComparison.Ordinal);
        if (isHub && RequireToken && request.Headers["Authorization"] != $"Bearer {Token}")
        {
            response.StatusCode = 401;
            await WriteAsync(response, "{\"error\":\"Invalid credentials\"}");
            return;
        }

        var listing = $"/api/models/{Repo}/revision/";
        if (path.StartsWith(listing, StringComparison.Ordinal))
        {
            var asked = path[listing.Length..];
            ListedRevisions.Add(asked);
            if (asked != Revision && asked != Commit)
            {
                response.StatusCode = 404;
                await WriteAsync(response, "{\"error\":\"Revision Not Found\"}");
                return;
            }

            var all = Files.Concat(Extras.Where(e => !Files.ContainsKey(e.Key)));
            var siblings = all.Select(f => Lfs.Contains(f.Key)
                ? (object)new { rfilename = f.Key, size = f.Value.Length, lfs = new { sha256 = Sha256(f.Value), size = f.Value.Length, pointerSize = 134 } }
                : new { rfilename = f.Key, size = f.Value.Length });
            await WriteAsync(response, JsonSerializer.Serialize(new { id = Repo, sha = Commit, siblings }));
            return;
        }

        var resolve = $"/{Repo}/resolve/";
        if (path.StartsWith(resolve, StringComparison.Ordinal))
        {
            var rest = path[resolve.Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 || rest[..slash] is not (Revision or Commit))
            {
                response.StatusCode = 404;
                return;
            }

            var file = rest[(slash + 1)..];
            if (TooManyRequests > 0)
            {
                TooManyRequests--;
                response.StatusCode = 429;
                response.AddHeader("Retry-After", RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return;
            }

            if (!Files.TryGetValue(file, out var bytes))
            {
                response.StatusCode = 404;
                return;
            }

            if (Lfs.Contains(file))
            {
                response.AddHeader("X-Linked-Etag", $"\"{Sha256(bytes)}\"");
                response.AddHeader("X-Linked-Size", bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            response.StatusCode = 302;
            response.RedirectLocation = "/cdn/" + file;
            return;
        }

        if (path.StartsWith("/cdn/", StringComparison.Ordinal) && Files.TryGetValue(path[5..], out var content))
        {
            var name = path[5..];
            if (Tampered == name)
            {
                content = content.ToArray();
                content[content.Length / 2] ^= 0xFF;
            }

            var start = 0;
            if (request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                start = int.Parse(range[6..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
                response.StatusCode = 206;
                response.AddHeader("Content-Range", $"bytes {start}-{content.Length - 1}/{content.Length}");
            }

            response.ContentLength64 = content.Length - start;
            int? cutAt = null;
            if (Cut is { } cut && cut.Path == name)
            {
                Cut = null;
                cutAt = cut.Bytes;
            }
            else if (CutEveryFileAfter is { } every && content.Length > every && _cut.Add(name))
            {
                cutAt = start + every;
            }

            if (Stall is { } stall && stall.Path == name)
            {
                Stall = null;
                await response.OutputStream.WriteAsync(content.AsMemory(start, stall.Bytes - start));
                await response.OutputStream.FlushAsync();
                await Task.Delay(stall.For);
                response.Abort();
                return;
            }

            var end = cutAt ?? content.Length;
            for (var at = start; at < end; at += 4096)
            {
                await response.OutputStream.WriteAsync(content.AsMemory(at, Math.Min(4096, end - at)));
                if (ChunkDelay > TimeSpan.Zero)
                {
                    await response.OutputStream.FlushAsync();
                    await Task.Delay(ChunkDelay);
                }
            }

            if (cutAt is not null)
            {
                await response.OutputStream.FlushAsync();
                response.Abort();
            }

            return;
        }

        response.StatusCode = 404;
    }

    private static async Task WriteAsync(HttpListenerResponse response, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
    }
}
