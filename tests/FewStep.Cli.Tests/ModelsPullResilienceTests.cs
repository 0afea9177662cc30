using System.Diagnostics;
using System.Text.Json;
using FewStep.Cli.Hub;

namespace FewStep.Cli.Tests;

/// <summary>
/// Pulls as a new user meets them: connections cut, stalled or refused, repositories whose weights are in
/// external-data files of any name beside PyTorch weights, exports in a subfolder, pinned commits, a full disk,
/// two pulls at once, and a folder damaged after the pull.
/// </summary>
public sealed class ModelsPullResilienceTests : IDisposable
{
    private static readonly Lazy<Dictionary<string, byte[]>> s_externalRepo = new(MakeExternalRepo);

    private readonly TempFolder _temp = new();
    private readonly CliRunner _cli = new();

    private string Dest => _temp.Combine("model");

    public void Dispose()
    {
        _cli.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Every_large_file_cut_on_its_first_transfer_still_pulls_in_one_run()
    {
        using var hub = Hub(s_externalRepo.Value);
        hub.CutEveryFileAfter = 4096;

        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        var resumed = hub.Requests.Where(r => r.Range is not null).Select(r => r.PathAndQuery).ToList();
        Assert.True(resumed.Count >= 4, $"only {resumed.Count} resumed transfers: {string.Join(", ", resumed)}");
        AssertFolderMatches(hub, Dest);
    }

    [Fact]
    public async Task A_stalled_transfer_is_dropped_after_the_read_timeout_and_resumed()
    {
        using var hub = Hub(s_externalRepo.Value);
        hub.Stall = ("unet/model.onnx.data", 2048, TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();

        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        Assert.Contains(hub.Requests, r => r.PathAndQuery == "/cdn/unet/model.onnx.data" && r.Range == "bytes=2048-");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"the stall was waited out ({clock.Elapsed.TotalSeconds:F1} s) instead of being cut after the read timeout");
        AssertFolderMatches(hub, Dest);
    }

    [Fact]
    public async Task A_429_is_retried_after_its_retry_after()
    {
        using var hub = Hub(s_externalRepo.Value);
        hub.TooManyRequests = 2;
        hub.RetryAfterSeconds = 1;
        var clock = Stopwatch.StartNew();

        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.8), TimeSpan.FromSeconds(30));
        Assert.Equal(0, hub.TooManyRequests);
    }

    [Fact]
    public async Task Two_503s_then_200_succeed()
    {
        using var hub = Hub(s_externalRepo.Value);
        hub.ServerErrorStatus = 503;
        hub.ServerErrors = 2;

        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        Assert.Equal(0, hub.ServerErrors);
    }

    [Fact]
    public async Task External_data_of_any_name_is_pulled_from_what_the_graphs_reference_pytorch_weights_are_not_and_the_folder_generates()
    {
        using var hub = Hub(s_externalRepo.Value);

        var pull = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.True(pull.ExitCode == 0, pull.Error + pull.Console);
        Assert.True(File.Exists(Path.Combine(Dest, "unet", "model.onnx.data")));
        Assert.True(File.Exists(Path.Combine(Dest, "text_encoder", "weights-1.bin")));
        Assert.True(File.Exists(Path.Combine(Dest, "text_encoder", "weights-2.bin")));
        Assert.False(File.Exists(Path.Combine(Dest, "unet", "diffusion_pytorch_model.safetensors")));
        Assert.DoesNotContain(hub.Requests, r => r.PathAndQuery.Contains("safetensors", StringComparison.Ordinal) || r.PathAndQuery.Contains(".bin?", StringComparison.Ordinal) || r.PathAndQuery.EndsWith("pytorch_model.bin", StringComparison.Ordinal));
        AssertFolderMatches(hub, Dest);

        var generate = await _cli.RunAsync("generate", "a fox", "--model", Dest, "--seed", "1", "--out", _temp.Combine("out"));

        Assert.True(generate.ExitCode == 0, generate.Error + generate.Console);
        Assert.True(File.Exists(generate.OutLines.Single()));
    }

    [Fact]
    public async Task A_graph_that_names_a_file_the_repository_lacks_is_an_error_naming_both()
    {
        var files = new Dictionary<string, byte[]>(s_externalRepo.Value);
        files.Remove("text_encoder/weights-2.bin");
        using var hub = Hub(files);

        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("text_encoder/model.onnx", result.Error, StringComparison.Ordinal);
        Assert.Contains("weights-2.bin", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Dest, "model_index.json")));
    }

    [Theory]
    [InlineData(":onnx", null)]
    [InlineData("", "onnx")]
    public async Task An_export_in_a_subfolder_is_pulled_with_a_colon_or_subfolder_option(string suffix, string? option)
    {
        using var hub = Hub(s_externalRepo.Value.ToDictionary(f => "onnx/" + f.Key, f => f.Value));
        string[] args = option is null
            ? ["models", "pull", FakeHub.Repo + suffix, "--dest", Dest]
            : ["models", "pull", FakeHub.Repo + suffix, "--subfolder", option, "--dest", Dest];

        var result = await _cli.RunAsync(args);

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        Assert.True(File.Exists(Path.Combine(Dest, "unet", "model.onnx.data")));
        Assert.Equal("onnx", PullRecord.TryRead(Dest)!.Subfolder);
    }

    [Fact]
    public async Task Without_the_subfolder_the_error_says_where_the_export_is()
    {
        using var hub = Hub(s_externalRepo.Value.ToDictionary(f => "onnx/" + f.Key, f => f.Value));

        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{FakeHub.Repo}:onnx", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pinned_commit_is_recorded_and_a_second_pull_of_it_downloads_nothing()
    {
        using var hub = Hub(s_externalRepo.Value);

        var first = await _cli.RunAsync("models", "pull", $"{FakeHub.Repo}@{FakeHub.Commit}", "--dest", Dest);
        Assert.True(first.ExitCode == 0, first.Error + first.Console);
        var record = PullRecord.TryRead(Dest)!;
        Assert.Equal((FakeHub.Repo, FakeHub.Commit, FakeHub.Commit), (record.Repo, record.Revision, record.Commit));
        Assert.Contains(record.Files, f => f.Path == "unet/model.onnx.data" && f.Sha256 == FakeHub.Sha256(hub.Files["unet/model.onnx.data"]));
        Assert.Contains(hub.Requests, r => r.PathAndQuery == $"/{FakeHub.Repo}/resolve/{FakeHub.Commit}/unet/model.onnx.data");

        var before = hub.Requests.Count;
        var second = await _cli.RunAsync("models", "pull", $"{FakeHub.Repo}@{FakeHub.Commit}", "--dest", Dest);

        Assert.True(second.ExitCode == 0, second.Error);
        Assert.Equal(1, hub.Requests.Count - before);
        Assert.Contains("0 file(s) downloaded", second.Console, StringComparison.Ordinal);

        var list = await _cli.RunAsync("models", "list", "--json", "--models-dir", _temp.Path);
        Assert.True(list.ExitCode == 0, list.Error);
        using var document = JsonDocument.Parse(list.Out);
        var model = Assert.Single(document.RootElement.GetProperty("models").EnumerateArray(), m => m.GetProperty("folder").GetString() == Path.GetFullPath(Dest));
        Assert.Equal(FakeHub.Commit, model.GetProperty("commit").GetString());
    }

    [Fact]
    public async Task A_destination_without_enough_free_space_is_refused_with_both_numbers_before_any_transfer()
    {
        using var hub = Hub(s_externalRepo.Value);
        _cli.Download = _cli.Download with { FreeSpace = _ => 1000 };

        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Not enough disk space", result.Error, StringComparison.Ordinal);
        Assert.Contains("1000 bytes", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(hub.Requests, r => r.PathAndQuery.StartsWith("/cdn/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_second_pull_into_the_same_folder_while_one_runs_exits_with_a_clear_message_and_the_first_completes()
    {
        using var hub = Hub(s_externalRepo.Value);
        hub.ChunkDelay = TimeSpan.FromMilliseconds(30);
        var first = _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);
        await WaitForAsync(() => File.Exists(Path.Combine(Dest, PullLock.FileName)));

        using var other = new CliRunner { Download = _cli.Download };
        other.Environment["HF_ENDPOINT"] = hub.Endpoint.ToString();
        var second = await other.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);
        hub.ChunkDelay = TimeSpan.Zero;
        var firstResult = await first;

        Assert.Equal(1, second.ExitCode);
        Assert.Contains("Another pull into", second.Error, StringComparison.Ordinal);
        Assert.True(firstResult.ExitCode == 0, firstResult.Error + firstResult.Console);
        AssertFolderMatches(hub, Dest);
        Assert.False(File.Exists(Path.Combine(Dest, PullLock.FileName)));
    }

    [Fact]
    public async Task Verify_finds_a_flipped_byte_and_passes_a_sound_folder()
    {
        using var hub = Hub(s_externalRepo.Value);
        Assert.Equal(0, (await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest)).ExitCode);

        var sound = await _cli.RunAsync("models", "verify", Dest);
        Assert.True(sound.ExitCode == 0, sound.Error + sound.Console);

        var data = Path.Combine(Dest, "unet", "model.onnx.data");
        var bytes = File.ReadAllBytes(data);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(data, bytes);
        var damaged = await _cli.RunAsync("models", "verify", Dest);

        Assert.Equal(1, damaged.ExitCode);
        Assert.Contains("unet/model.onnx.data: sha256", damaged.Error, StringComparison.Ordinal);
        Assert.Contains("1 of", damaged.Error, StringComparison.Ordinal);
    }

    private FakeHub Hub(IReadOnlyDictionary<string, byte[]> files)
    {
        var hub = new FakeHub(files);
        _cli.Environment["HF_ENDPOINT"] = hub.Endpoint.ToString();
        return hub;
    }

    // Every file the pipeline needs is in place with the served bytes; nothing is left half-done.
    private static void AssertFolderMatches(FakeHub hub, string folder)
    {
        foreach (var relative in new[] { "model_index.json", "unet/model.onnx", "unet/model.onnx.data", "text_encoder/model.onnx", "text_encoder/weights-1.bin", "text_encoder/weights-2.bin", "vae_decoder/model.onnx" })
        {
            var key = hub.Files.ContainsKey(relative) ? relative : "onnx/" + relative;
            Assert.Equal(hub.Files[key], File.ReadAllBytes(Path.Combine(folder, relative)));
        }

        Assert.Empty(Directory.EnumerateFiles(folder, "*" + ModelDownloader.PartialSuffix, SearchOption.AllDirectories));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "timed out");
            await Task.Delay(10);
        }
    }

    // The tiny SD-Turbo export with its UNet weights in `model.onnx.data` (Olive and TensorStack name it so), the
    // text encoder's split over two files, and PyTorch weights beside them (which a pull must skip).
    private static Dictionary<string, byte[]> MakeExternalRepo()
    {
        var files = FakeHub.FromFolder(ConformancePaths.Model("tiny-sd-turbo"));
        var (unet, unetData) = ExternalDataExport.Split(files["unet/model.onnx"], ["model.onnx.data"]);
        files["unet/model.onnx"] = unet;
        files["unet/model.onnx.data"] = unetData["model.onnx.data"];
        var (encoder, encoderData) = ExternalDataExport.Split(files["text_encoder/model.onnx"], ["weights-1.bin", "weights-2.bin"]);
        files["text_encoder/model.onnx"] = encoder;
        files["text_encoder/weights-1.bin"] = encoderData["weights-1.bin"];
        files["text_encoder/weights-2.bin"] = encoderData["weights-2.bin"];
        files["unet/diffusion_pytorch_model.safetensors"] = new byte[5000];
        files["text_encoder/model.safetensors"] = new byte[3000];
        return files;
    }
}
