using FewStep.Cli.Hub;

namespace FewStep.Cli.Tests;

/// <summary><c>fewstep models pull</c> against a local server that mimics the Hub, serving the tiny SD-Turbo export.</summary>
public sealed class ModelsPullTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly CliRunner _cli = new();
    private readonly FakeHub _hub = new(FakeHub.FromFolder(ConformancePaths.Model("tiny-sd-turbo")));

    public ModelsPullTests() => _cli.Environment["HF_ENDPOINT"] = _hub.Endpoint.ToString();

    private string Dest => _temp.Combine("model");

    public void Dispose()
    {
        _hub.Dispose();
        _cli.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Pull_downloads_only_the_needed_files_through_redirects_and_verifies_them()
    {
        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        Assert.Equal(Path.GetFullPath(Dest), result.OutLines.Single());
        var expected = _hub.Files.Keys.Where(ModelDownloader.IsNeeded).Append(PullRecord.FileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Contains("unet/model.onnx", expected);
        Assert.DoesNotContain("vae_encoder/model.onnx", expected);
        var written = Directory.EnumerateFiles(Dest, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Dest, f).Replace(Path.DirectorySeparatorChar, '/')).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, written);
        foreach (var file in expected.Where(f => f != PullRecord.FileName))
        {
            Assert.Equal(_hub.Files[file], File.ReadAllBytes(Path.Combine(Dest, file)));
        }

        // Files come through resolve (redirected to the CDN path); extras (vae_encoder, *.safetensors...) are never asked for.
        var requests = _hub.Requests;
        Assert.Contains(requests, r => r.PathAndQuery.StartsWith($"/api/models/{FakeHub.Repo}/revision/main?blobs=true", StringComparison.Ordinal));
        Assert.Contains(requests, r => r.PathAndQuery == $"/{FakeHub.Repo}/resolve/main/unet/model.onnx");
        Assert.Contains(requests, r => r.PathAndQuery == "/cdn/unet/model.onnx");
        Assert.DoesNotContain(requests, r => r.PathAndQuery.Contains("vae_encoder", StringComparison.Ordinal) || r.PathAndQuery.Contains("safetensors", StringComparison.Ordinal));

        // A second pull finds everything in place and transfers nothing.
        var before = _hub.Requests.Count;
        var again = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);
        Assert.Equal(0, again.ExitCode);
        Assert.Equal(1, _hub.Requests.Count - before);
    }

    [Fact]
    public async Task A_cut_connection_is_resumed_with_a_range_within_the_same_run()
    {
        var size = _hub.Files["unet/model.onnx"].Length;
        _hub.Cut = ("unet/model.onnx", size / 3);

        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        Assert.Contains(_hub.Requests, r => r.PathAndQuery == "/cdn/unet/model.onnx" && r.Range == $"bytes={size / 3}-");
        Assert.Equal(_hub.Files["unet/model.onnx"], File.ReadAllBytes(Path.Combine(Dest, "unet", "model.onnx")));
        Assert.False(File.Exists(Path.Combine(Dest, "unet", "model.onnx" + ModelDownloader.PartialSuffix)));
    }

    [Fact]
    public async Task When_the_attempts_are_spent_the_error_names_the_file_its_bytes_and_what_to_run_and_the_next_run_resumes()
    {
        var size = _hub.Files["unet/model.onnx"].Length;
        _hub.ServerErrorStatus = 503;
        _hub.Cut = ("unet/model.onnx", size / 3);
        _cli.Download = _cli.Download with { Retries = 0 };

        var first = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.Equal(1, first.ExitCode);
        var error = Assert.Single(first.ErrorLines);
        Assert.Contains("unet/model.onnx", error, StringComparison.Ordinal);
        Assert.Contains($"{size / 3} of {size} bytes", error, StringComparison.Ordinal);
        Assert.Contains($"fewstep models pull {FakeHub.Repo}@main' again to resume", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Dest, "unet", "model.onnx")));
        Assert.False(File.Exists(Path.Combine(Dest, "model_index.json")), "an interrupted pull must not look like a model folder");
        Assert.Equal(size / 3, new FileInfo(Path.Combine(Dest, "unet", "model.onnx" + ModelDownloader.PartialSuffix)).Length);

        var second = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest, "--retries", "0");

        Assert.True(second.ExitCode == 0, second.Error);
        Assert.Contains(_hub.Requests, r => r.PathAndQuery == "/cdn/unet/model.onnx" && r.Range == $"bytes={size / 3}-");
        Assert.Equal(_hub.Files["unet/model.onnx"], File.ReadAllBytes(Path.Combine(Dest, "unet", "model.onnx")));
    }

    [Fact]
    public async Task A_checksum_mismatch_rejects_the_file_and_leaves_nothing_in_place()
    {
        _hub.Tampered = "unet/model.onnx";

        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Checksum mismatch for unet/model.onnx", result.Error, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
        // Nothing that looks like the graph: no model.onnx, no temporary of it (config.json came before it, verified).
        Assert.Equal(new[] { "config.json" }, Directory.EnumerateFiles(Path.Combine(Dest, "unet")).Select(f => Path.GetFileName(f)).ToArray());
    }

    [Fact]
    public async Task The_sha256_from_X_Linked_Etag_is_checked_when_the_listing_has_none()
    {
        using var hub = new FakeHub(new Dictionary<string, byte[]>(_hub.Files));
        _cli.Environment["HF_ENDPOINT"] = hub.Endpoint.ToString();
        hub.Tampered = "vae_decoder/model.onnx";
        var downloader = new ModelDownloader(new HubClient(new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }), new HubOptions { Endpoint = hub.Endpoint }));
        using var response = await new HubClient(new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }), new HubOptions { Endpoint = hub.Endpoint })
            .OpenFileAsync(FakeHub.Repo, "main", "vae_decoder/model.onnx", 0, CancellationToken.None);
        Assert.Equal(FakeHub.Sha256(hub.Files["vae_decoder/model.onnx"]), response.Sha256);

        var error = await Assert.ThrowsAsync<HubException>(() => downloader.PullAsync(
            new HubModelReference(FakeHub.Repo, "main", null), Dest, null, CancellationToken.None));
        Assert.Contains("Checksum mismatch for vae_decoder/model.onnx", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Dest, "vae_decoder", "model.onnx")));
        Assert.False(File.Exists(Path.Combine(Dest, "vae_decoder", "model.onnx.part")));
    }

    [Fact]
    public async Task Without_a_token_a_private_repo_answers_401_and_the_error_says_set_HF_TOKEN()
    {
        _hub.RequireToken = true;

        var missing = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("set HF_TOKEN", missing.Error, StringComparison.Ordinal);
        Assert.Single(missing.ErrorLines);

        _cli.Environment["HF_TOKEN"] = "hf_wrong";
        var wrong = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("rejected HF_TOKEN", wrong.Error, StringComparison.Ordinal);

        _cli.Environment["HF_TOKEN"] = FakeHub.Token;
        var right = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);
        Assert.True(right.ExitCode == 0, right.Error);
        Assert.Contains(_hub.Requests, r => r.Authorization == $"Bearer {FakeHub.Token}");

        // The token goes to the Hub only, never to the CDN host it redirects to... here the same host, so check the hub paths carry it.
        Assert.All(_hub.Requests.Where(r => r.PathAndQuery.Contains("/resolve/", StringComparison.Ordinal) && r.Authorization is not null),
            r => Assert.Equal($"Bearer {FakeHub.Token}", r.Authorization));
    }

    [Fact]
    public async Task An_unknown_revision_answers_404_with_a_clear_error()
    {
        var result = await _cli.RunAsync("models", "pull", FakeHub.Repo + "@v9", "--dest", Dest);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"Repository '{FakeHub.Repo}' or revision 'v9' not found", result.Error, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
    }

    [Fact]
    public async Task Server_errors_are_retried_then_fail_naming_the_answer()
    {
        _hub.ServerErrors = 2;
        var recovered = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", Dest);
        Assert.True(recovered.ExitCode == 0, recovered.Error);

        _hub.ServerErrors = 100;
        var failed = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--dest", _temp.Combine("other"));
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("500", failed.Error, StringComparison.Ordinal);
        Assert.Equal(100 - 4, _hub.ServerErrors);
    }

    [Fact]
    public async Task A_catalog_name_pulls_its_hub_repo_into_the_model_root()
    {
        var root = _temp.Combine("root");
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "catalog.json"),
            $$"""{"models": [{"name": "tiny", "hub_repo": "{{FakeHub.Repo}}", "steps": 1, "width": 64, "height": 64}]}""");

        var result = await _cli.RunAsync("models", "pull", "tiny", "--models-dir", root);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(File.Exists(Path.Combine(root, "tiny", "model_index.json")));
    }

    [Theory]
    [InlineData("model_index.json", true)]
    [InlineData("unet/model.onnx", true)]
    [InlineData("unet/model.onnx_data", false)]
    [InlineData("unet/config.json", true)]
    [InlineData("transformer/model.onnx", true)]
    [InlineData("tokenizer/spiece.model", true)]
    [InlineData("tokenizer/tokenizer.json", true)]
    [InlineData("controlnet/model.onnx", false)]
    [InlineData("unet/model.safetensors", false)]
    [InlineData("unet/model.ckpt", false)]
    [InlineData("text_encoder_2/config.json", true)]
    [InlineData("tokenizer_2/merges.txt", true)]
    [InlineData("scheduler/scheduler_config.json", true)]
    [InlineData("vae_encoder/model.onnx", false)]
    [InlineData("safety_checker/model.onnx", false)]
    [InlineData("unet/diffusion_pytorch_model.safetensors", false)]
    [InlineData("text_encoder/pytorch_model.bin", false)]
    [InlineData("README.md", false)]
    [InlineData("unet/sub/model.onnx", false)]
    public void Only_pipeline_files_are_needed(string path, bool needed) => Assert.Equal(needed, ModelDownloader.IsNeeded(path));
}
