using System.Text.Json;
using FewStep.Cli.Hub;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Cli.Tests;

/// <summary>
/// <c>fewstep generate --lora FILE|NAME[:SCALE]</c> and <c>--scheduler</c>, a catalog entry bundling a LoRA, and
/// <c>fewstep models pull</c> for single-file LoRA repositories, on the tiny model and the corpus LoRA files.
/// </summary>
public sealed class LoraCliTests : IDisposable
{
    private static readonly string s_model = ConformancePaths.Model("tiny-sd-turbo");
    private static readonly string s_locon = ConformancePaths.Lora("sd_kohya_unet_locon");
    private static readonly string s_lcm = ConformancePaths.Lora("sd_lcm_lora_diffusers_fp16");
    private readonly TempFolder _temp = new();
    private readonly CliRunner _cli = new();

    public void Dispose()
    {
        _cli.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_lora_file_with_a_scale_changes_the_image_and_the_png_records_it()
    {
        var plain = await GenerateAsync("plain", "--seed", "4");
        var lora = await GenerateAsync("lora", "--seed", "4", "--lora", s_locon + ":0.8");
        var stacked = await GenerateAsync("stacked", "--seed", "4", "--lora", s_locon + ":0.8", "--lora", ConformancePaths.Lora("sd_kohya_unet_te") + ":-1");

        Assert.NotEqual(Pixels(plain), Pixels(lora));
        Assert.NotEqual(Pixels(lora), Pixels(stacked));
        var text = Text(lora);
        Assert.StartsWith("sd_kohya_unet_locon:0.8@", text["loras"], StringComparison.Ordinal);
        Assert.False(Text(plain).ContainsKey("loras"));
        Assert.Equal(2, Text(stacked)["loras"].Split(", ").Length);
    }

    [Fact]
    public async Task A_lora_name_is_found_in_the_model_roots_lora_folder_and_the_scheduler_can_be_replaced()
    {
        var root = _temp.Combine("root");
        Directory.CreateDirectory(Path.Combine(root, "loras"));
        File.Copy(s_lcm, Path.Combine(root, "loras", "lcm.safetensors"));

        var png = await GenerateAsync("named", "--seed", "2", "--steps", "4", "--guidance", "1", "--lora", "lcm", "--scheduler", "LCMScheduler", "--models-dir", root);

        var text = Text(png);
        Assert.StartsWith("lcm:1@", text["loras"], StringComparison.Ordinal);
        Assert.Equal("LCMScheduler", text["scheduler"]);
    }

    [Fact]
    public async Task A_catalog_entry_bundles_a_lora_and_a_scheduler()
    {
        var root = _temp.Combine("root");
        Directory.CreateDirectory(Path.Combine(root, "loras"));
        File.Copy(s_lcm, Path.Combine(root, "loras", "lcm-tiny.safetensors"));
        await File.WriteAllTextAsync(Path.Combine(root, "catalog.json"), JsonSerializer.Serialize(new
        {
            models = new object[]
            {
                new
                {
                    name = "tiny-lcm-lora", folder = s_model, steps = 4, min_steps = 2, max_steps = 8, guidance_scale = 1.0, width = 64, height = 64,
                    loras = new[] { new { name = "lcm-tiny", scale = 1.0 } },
                    scheduler = new Dictionary<string, string> { ["_class_name"] = "LCMScheduler" },
                },
            },
        }));

        var bundled = await GenerateAsync("bundled", "--seed", "2", "--model", "tiny-lcm-lora", "--models-dir", root);
        var explicitly = await GenerateAsync("explicit", "--seed", "2", "--steps", "4", "--guidance", "1", "--lora", Path.Combine(root, "loras", "lcm-tiny.safetensors"),
            "--scheduler", "LCMScheduler", "--models-dir", root);

        Assert.Equal(Pixels(explicitly), Pixels(bundled));
        Assert.Equal(("LCMScheduler", "4"), (Text(bundled)["scheduler"], Text(bundled)["num_inference_steps"]));
    }

    [Theory]
    [InlineData("no-such-lora", 1, "Unknown LoRA 'no-such-lora'")]
    [InlineData("./missing.safetensors", 1, "does not exist")]
    [InlineData("x:99", 2, "--lora takes FILE or NAME")]
    public async Task A_bad_lora_is_an_error_that_names_it(string lora, int exitCode, string message)
    {
        var result = await _cli.RunAsync("generate", "x", "--model", s_model, "--lora", lora, "--out", _temp.Path, "--models-dir", _temp.Combine("root"));

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_sdxl_lora_on_an_sd_model_fails_naming_the_key_and_the_file()
    {
        var sdxl = ConformancePaths.Lora("sdxl_peft_unet_r8");
        var result = await _cli.RunAsync("generate", "x", "--model", s_model, "--lora", sdxl, "--out", _temp.Path, "--models-dir", _temp.Combine("root"));

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("sdxl_peft_unet_r8.safetensors", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_with_file_fetches_one_lora_records_it_and_a_second_pull_downloads_nothing()
    {
        var bytes = await File.ReadAllBytesAsync(s_locon);
        using var hub = new FakeHub(new Dictionary<string, byte[]>
        {
            ["README.md"] = "a LoRA repo"u8.ToArray(),
            ["sd_lightning_4step_lora.safetensors"] = bytes,
            ["other.safetensors"] = [1, 2, 3],
        });
        _cli.Environment["HF_ENDPOINT"] = hub.Endpoint.ToString();
        var root = _temp.Combine("root");

        var first = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--file", "sd_lightning_4step_lora.safetensors", "--models-dir", root);
        var second = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--file", "sd_lightning_4step_lora.safetensors", "--models-dir", root);

        Assert.True(first.ExitCode == 0, first.Error + first.Console);
        var path = Path.Combine(root, "loras", "sd_lightning_4step_lora.safetensors");
        Assert.Equal(path, first.OutLines.Single());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal(FakeHub.Commit, PullRecord.TryReadFor(path)!.Commit);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("0 file(s) downloaded", second.Console, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(root, "loras", "other.safetensors")));

        // The pulled file is now a LoRA name.
        var png = await GenerateAsync("pulled", "--seed", "1", "--lora", "sd_lightning_4step_lora", "--models-dir", root);
        Assert.StartsWith("sd_lightning_4step_lora:1@", Text(png)["loras"], StringComparison.Ordinal);

        var missing = await _cli.RunAsync("models", "pull", FakeHub.Repo, "--file", "nope.safetensors", "--models-dir", root);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("other.safetensors", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pulling_a_catalog_lora_by_name_puts_it_where_generate_finds_it()
    {
        var bytes = await File.ReadAllBytesAsync(s_locon);
        using var hub = new FakeHub(new Dictionary<string, byte[]> { ["pytorch_lora_weights.safetensors"] = bytes });
        _cli.Environment["HF_ENDPOINT"] = hub.Endpoint.ToString();
        var root = _temp.Combine("root");
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "catalog.json"), JsonSerializer.Serialize(new
        {
            models = Array.Empty<object>(),
            loras = new[] { new { name = "my-style", hub_repo = FakeHub.Repo, hub_file = "pytorch_lora_weights.safetensors" } },
        }));

        var pulled = await _cli.RunAsync("models", "pull", "my-style", "--models-dir", root);

        Assert.True(pulled.ExitCode == 0, pulled.Error + pulled.Console);
        Assert.Equal(Path.Combine(root, "loras", "my-style.safetensors"), pulled.OutLines.Single());
        var png = await GenerateAsync("style", "--seed", "1", "--lora", "my-style:0.5", "--models-dir", root);
        Assert.StartsWith("my-style:0.5@", Text(png)["loras"], StringComparison.Ordinal);

        var list = await _cli.RunAsync("models", "list", "--json", "--models-dir", root);
        using var json = JsonDocument.Parse(list.Out);
        var entry = json.RootElement.GetProperty("loras").EnumerateArray().Single(l => l.GetProperty("name").GetString() == "my-style");
        Assert.True(entry.GetProperty("on_disk").GetBoolean());
        Assert.Contains(json.RootElement.GetProperty("loras").EnumerateArray(), l => l.GetProperty("name").GetString() == "lcm-lora-sdxl" && !l.GetProperty("on_disk").GetBoolean());
    }

    private async Task<byte[]> GenerateAsync(string name, params string[] options)
    {
        var args = new List<string> { "generate", "a red fox" };
        if (!options.Contains("--model"))
        {
            args.AddRange(["--model", s_model]);
        }

        if (!options.Contains("--models-dir"))
        {
            args.AddRange(["--models-dir", _temp.Combine("root")]);
        }

        args.AddRange(options);
        args.AddRange(["--out", _temp.Combine(name)]);
        var result = await _cli.RunAsync([.. args]);
        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        return await File.ReadAllBytesAsync(result.OutLines.Single());
    }

    private static byte[] Pixels(byte[] png)
    {
        using var image = Image.Load<Rgb24>(png);
        var pixels = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    private static Dictionary<string, string> Text(byte[] png)
    {
        using var image = Image.Load<Rgb24>(png);
        return image.Metadata.GetPngMetadata().TextData.ToDictionary(t => t.Keyword, t => t.Value, StringComparer.Ordinal);
    }
}
