using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;

namespace FewStep.Cli.Tests;

/// <summary><c>fewstep generate</c> and <c>fewstep bench</c> on the tiny conformance SD-Turbo model, and argument errors.</summary>
public sealed class GenerateTests : IDisposable
{
    private static readonly string s_model = ConformancePaths.Model("tiny-sd-turbo");
    private readonly TempFolder _temp = new();
    private readonly CliRunner _cli = new();

    public void Dispose()
    {
        _cli.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Generate_writes_pngs_with_their_parameters_and_a_contact_sheet()
    {
        var result = await _cli.RunAsync("generate", "a red fox", "--model", s_model, "--count", "2", "--seed", "7", "--steps", "2",
            "--size", "64x48", "--negative", "blurry", "--out", _temp.Path, "--models-dir", _temp.Combine("root"));

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        var lines = result.OutLines;
        Assert.Equal(3, lines.Length);
        for (var k = 0; k < 2; k++)
        {
            Assert.EndsWith($"a-red-fox-{7 + k}.png", lines[k], StringComparison.Ordinal);
            using var image = await Image.LoadAsync(lines[k]);
            Assert.Equal((64, 48), (image.Width, image.Height));
            var text = image.Metadata.GetPngMetadata().TextData.ToDictionary(t => t.Keyword, t => t.Value);
            Assert.Equal("a red fox", text["prompt"]);
            Assert.Equal("blurry", text["negative_prompt"]);
            Assert.Equal((7 + k).ToString(System.Globalization.CultureInfo.InvariantCulture), text["seed"]);
            Assert.Equal("2", text["num_inference_steps"]);
            Assert.Equal("64", text["width"]);
            Assert.Equal("48", text["height"]);
            Assert.Equal("tiny-sd-turbo", text["model"]);
        }

        Assert.EndsWith("-sheet.png", lines[2], StringComparison.Ordinal);
        var info = await Image.IdentifyAsync(lines[2]);
        Assert.Equal((2 * 64) + (3 * 4), info.Width);
        Assert.Equal(48 + (2 * 4), info.Height);
        Assert.Empty(Directory.EnumerateFiles(_temp.Path, "*.tmp"));
    }

    [Fact]
    public async Task Generate_shows_the_live_previews_progress_in_the_progress_line()
    {
        // A fresh process: no preview cost known yet, so the first step of a multi-step image gets one (the service's rule).
        _cli.Interactive = true;
        var result = await _cli.RunAsync("generate", "a red fox", "--model", s_model, "--seed", "7", "--steps", "4",
            "--size", "256x256", "--out", _temp.Path, "--models-dir", _temp.Combine("root"));

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        Assert.Contains("preview of step 1/4 (latent2rgb-sd15, 32x32)", result.Console, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_runs_a_pixart_lcm_folder_with_binning()
    {
        var result = await _cli.RunAsync("generate", "a red panda", "--model", ConformancePaths.Model("tiny-pixart-lcm"), "--seed", "3", "--steps", "2",
            "--size", "64x96", "--resolution-binning", "--out", _temp.Path, "--models-dir", _temp.Combine("root"));

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        using var image = await Image.LoadAsync(Assert.Single(result.OutLines));
        Assert.Equal((64, 96), (image.Width, image.Height));
        Assert.Equal("tiny-pixart-lcm", image.Metadata.GetPngMetadata().TextData.Single(t => t.Keyword == "model").Value);
    }

    [Fact]
    public async Task Image_k_gets_seed_S_plus_k_and_equals_the_image_made_alone_with_that_seed()
    {
        var both = await _cli.RunAsync("generate", "a cat", "--model", s_model, "--count", "2", "--seed", "100", "--out", _temp.Combine("a"));
        var alone = await _cli.RunAsync("generate", "a cat", "--model", s_model, "--seed", "101", "--out", _temp.Combine("b"));

        Assert.Equal(0, both.ExitCode);
        Assert.Equal(0, alone.ExitCode);
        Assert.Single(alone.OutLines);
        using var first = await Image.LoadAsync<SixLabors.ImageSharp.PixelFormats.Rgb24>(both.OutLines[1]);
        using var second = await Image.LoadAsync<SixLabors.ImageSharp.PixelFormats.Rgb24>(alone.OutLines[0]);
        Assert.True(first.DangerousTryGetSinglePixelMemory(out var a));
        Assert.True(second.DangerousTryGetSinglePixelMemory(out var b));
        Assert.True(a.Span.SequenceEqual(b.Span));
    }

    [Fact]
    public async Task A_seed_gives_the_image_diffusers_made_from_it_with_either_kernel()
    {
        // ../shared/conformance/cases-seeded: diffusers with torch.Generator("cpu").manual_seed(42), both torch kernels.
        foreach (var (kernel, folder) in new[] { ("avx2", "seeded_sd_turbo_1step_seed42"), ("default", "seeded_sd_turbo_1step_seed42_kernel_default") })
        {
            var result = await _cli.RunAsync("generate", "a photo of a cat", "--model", s_model, "--seed", "42", "--steps", "1", "--guidance", "0",
                "--size", "64x64", "--noise-kernel", kernel, "--out", _temp.Combine(kernel));

            Assert.True(result.ExitCode == 0, result.Error + result.Console);
            using var ours = await Image.LoadAsync<SixLabors.ImageSharp.PixelFormats.Rgb24>(result.OutLines.Single());
            using var theirs = await Image.LoadAsync<SixLabors.ImageSharp.PixelFormats.Rgb24>(Path.Combine(ConformancePaths.SeededCases, folder, "image_0.png"));
            var a = new byte[64 * 64 * 3];
            var b = new byte[64 * 64 * 3];
            ours.CopyPixelDataTo(a);
            theirs.CopyPixelDataTo(b);
            Assert.True(a.Zip(b).All(p => Math.Abs(p.First - p.Second) <= 1), $"kernel {kernel}: the image differs from diffusers' for seed 42");
            var text = ours.Metadata.GetPngMetadata().TextData.ToDictionary(t => t.Keyword, t => t.Value);
            Assert.Equal(("torch_cpu_generator_per_image", kernel), (text["noise"], text["noise_kernel"]));
        }
    }

    [Fact]
    public async Task A_catalog_entry_from_the_user_catalog_gives_the_recommended_settings_and_a_random_seed_is_printed()
    {
        var root = _temp.Combine("root");
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "catalog.json"), JsonSerializer.Serialize(new
        {
            models = new[] { new { name = "tiny", folder = s_model, steps = 3, min_steps = 1, max_steps = 4, guidance_scale = 0.0, width = 32, height = 64 } },
        }));
        _cli.Environment["FEWSTEP_MODELS"] = root;

        var result = await _cli.RunAsync("generate", "a boat", "--model", "tiny", "--out", _temp.Combine("out"));

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        Assert.Contains("(random)", result.Console, StringComparison.Ordinal);
        using var image = await Image.LoadAsync(result.OutLines.Single());
        Assert.Equal((32, 64), (image.Width, image.Height));
        var text = image.Metadata.GetPngMetadata().TextData.ToDictionary(t => t.Keyword, t => t.Value);
        Assert.Equal("3", text["num_inference_steps"]);
        Assert.Equal("tiny", text["model"]);

        var tooMany = await _cli.RunAsync("generate", "a boat", "--model", "tiny", "--steps", "6", "--out", _temp.Combine("out"));
        Assert.Equal(2, tooMany.ExitCode);
        Assert.Contains("takes 1 to 4 steps", tooMany.Error, StringComparison.Ordinal);

        var list = await _cli.RunAsync("models", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("tiny", list.Console, StringComparison.Ordinal);
        Assert.Contains("sdxl-turbo", list.Console, StringComparison.Ordinal);
        Assert.Contains(root, list.Console, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("generate")]
    [InlineData("generate", "x", "--steps", "0")]
    [InlineData("generate", "x", "--size", "64")]
    [InlineData("generate", "x", "--device", "tpu")]
    [InlineData("generate", "x", "--count", "many")]
    [InlineData("generate", "x", "--noise-kernel", "sse")]
    [InlineData("generate", "x", "--seed", "-1")]
    [InlineData("generate", "x", "--no-such-option")]
    [InlineData("bench")]
    [InlineData("bench", "--model", "m", "--batch", "0")]
    [InlineData("submit", "job.json", "--endpoint", "not a url")]
    [InlineData("models", "pull")]
    [InlineData("frobnicate")]
    public async Task Wrong_arguments_print_usage_and_exit_2(params string[] args)
    {
        var result = await _cli.RunAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
        Assert.Contains("USAGE:", result.Console, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runtime_failures_print_one_line_and_exit_1()
    {
        var unknown = await _cli.RunAsync("generate", "x", "--model", "no-such-model", "--models-dir", _temp.Path);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("error: Unknown model 'no-such-model': not a folder and not in the catalog (see 'fewstep models list').", unknown.ErrorLines.Single());

        var notAModel = await _cli.RunAsync("generate", "x", "--model", _temp.Path);
        Assert.Equal(1, notAModel.ExitCode);
        Assert.Contains("not a model folder", notAModel.ErrorLines.Single(), StringComparison.Ordinal);

        var badSize = await _cli.RunAsync("generate", "x", "--model", s_model, "--size", "60x60", "--out", _temp.Path);
        Assert.Equal(1, badSize.ExitCode);
        Assert.Single(badSize.ErrorLines);

        var noHub = await _cli.RunAsync("generate", "x", "--model", "sdxl-lightning-8step", "--models-dir", _temp.Path);
        Assert.Equal(1, noHub.ExitCode);
        Assert.Contains("optimum-cli export onnx", noHub.ErrorLines.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_prints_one_json_object_or_a_table()
    {
        var json = await _cli.RunAsync("bench", "--model", s_model, "--steps", "1", "--size", "64x64", "--batch", "1", "--runs", "1", "--warmup", "0", "--json");

        Assert.True(json.ExitCode == 0, json.Error);
        using var document = JsonDocument.Parse(json.Out);
        foreach (var key in new[] { "median_ms", "images_per_s", "overhead_ratio", "peak_working_set_mb", "stages_ms" })
        {
            Assert.True(document.RootElement.TryGetProperty(key, out _), key);
        }

        var table = await _cli.RunAsync("bench", "--model", s_model, "--batch", "1,2", "--runs", "1", "--warmup", "0");
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("overhead ratio", table.Console, StringComparison.Ordinal);
        Assert.Contains("unet_step_0", table.Console, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_stops_cleanly_with_exit_130()
    {
        var console = new Spectre.Console.Testing.TestConsole();
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var http = new HttpClient();
        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync();
        var context = new Infrastructure.CliContext { Console = console, Out = output, Error = error, HubHttp = http, ApiHttp = http };

        var code = await CliApp.RunAsync(["generate", "x", "--model", s_model, "--out", _temp.Path], context, canceled.Token);

        Assert.Equal(CliApp.Canceled, code);
        Assert.Empty(Directory.EnumerateFiles(_temp.Path));
    }
}
