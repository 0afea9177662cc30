using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Azure.Storage.Blobs;
using FewStep.Functions.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;

namespace FewStep.Functions.Tests.EndToEnd;

/// <summary>
/// The whole app on one machine: the real service graph with the ONNX renderer on the tiny conformance model,
/// blob storage in Azurite, the orchestration on the Functions host's durable engine (DurableTask.AzureStorage
/// against Azurite), driven over HTTP through a real ASP.NET Core pipeline as a client would, and the images
/// fetched through their SAS URLs.
/// </summary>
[Collection(AzuriteDefinition.Name)]
public sealed class GenerationEndToEndTests : IAsyncLifetime
{
    private const string Model = TestApp.Model;

    private static readonly TimeSpan s_maxWait = TimeSpan.FromSeconds(90);
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(20) };

    private readonly AzuriteFixture _azurite;
    private readonly ITestOutputHelper _output;
    private TestApp _app = null!;

    public GenerationEndToEndTests(AzuriteFixture azurite, ITestOutputHelper output)
    {
        _azurite = azurite;
        _output = output;
    }

    private BlobContainerClient Container => _azurite.BlobServiceClient.GetBlobContainerClient(_app.Options.ImagesContainer);

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Azurite = _azurite;
        o.RealRenderer = true;
        o.WithBrokenModel = true;
        o.Backend = DurableBackend.AzureStorage;
    });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task A_request_renders_real_pngs_into_blob_storage_reachable_through_their_urls()
    {
        var accepted = await StartAsync("""{"model":"tiny-sd-turbo","prompts":["a red fox","a blue bird"],"num_images_per_prompt":2,"seed":42}""");
        Assert.Equal(42, accepted.GetProperty("seed").GetInt64());
        var id = accepted.GetProperty("id").GetString()!;

        var status = await WaitForEndAsync(id);

        Assert.Equal("succeeded", status.GetProperty("status").GetString());
        Assert.Equal(id, status.GetProperty("id").GetString());
        Assert.Equal(Model, status.GetProperty("model").GetString());
        Assert.Equal(4, status.GetProperty("progress").GetProperty("completed").GetInt32());
        Assert.Equal(4, status.GetProperty("progress").GetProperty("total").GetInt32());
        Assert.False(status.TryGetProperty("error", out _));
        var images = status.GetProperty("images").EnumerateArray().ToArray();
        Assert.Equal(
            [(0, 0, 42L), (0, 1, 43L), (1, 0, 44L), (1, 1, 45L)],
            images.Select(i => (i.GetProperty("prompt_index").GetInt32(), i.GetProperty("image_index").GetInt32(), i.GetProperty("seed").GetInt64())).ToArray());

        string[] prompts = ["a red fox", "a blue bird"];
        var pixels = new Dictionary<(int, int), byte[]>();
        foreach (var image in images)
        {
            var (p, i) = (image.GetProperty("prompt_index").GetInt32(), image.GetProperty("image_index").GetInt32());
            Assert.Equal($"generations/{id}/{p}-{i}.png", image.GetProperty("blob").GetString());
            var png = await DownloadPngAsync(image.GetProperty("url").GetString()!);
            pixels[(p, i)] = CheckPng(png, prompts[p], image.GetProperty("seed").GetInt64());
        }

        // Different seeds make different pictures.
        Assert.Equal(4, pixels.Values.Select(Convert.ToHexString).Distinct().Count());

        var manifestBlob = Container.GetBlobClient($"generations/{id}/manifest.json");
        Assert.True((await manifestBlob.ExistsAsync()).Value);
        using (var manifest = JsonDocument.Parse((await manifestBlob.DownloadContentAsync()).Value.Content.ToMemory()))
        {
            Assert.Equal("succeeded", manifest.RootElement.GetProperty("status").GetString());
            Assert.Equal(
                images.Select(i => i.GetProperty("blob").GetString()).ToArray(),
                manifest.RootElement.GetProperty("requests")[0].GetProperty("images").EnumerateArray().Select(i => i.GetProperty("blob").GetString()).ToArray());
            Assert.Equal(2, manifest.RootElement.GetProperty("timings").GetProperty("batches").GetInt32());
        }

        // Image (1, 0) again, alone: its seed is all it takes to make the same picture.
        var again = await StartAsync("""{"model":"tiny-sd-turbo","prompt":"a blue bird","num_images_per_prompt":1,"seed":44}""");
        var alone = await WaitForEndAsync(again.GetProperty("id").GetString()!);
        Assert.Equal("succeeded", alone.GetProperty("status").GetString());
        var single = Assert.Single(alone.GetProperty("images").EnumerateArray().ToArray());
        Assert.Equal(44, single.GetProperty("seed").GetInt64());
        var repeated = CheckPng(await DownloadPngAsync(single.GetProperty("url").GetString()!), "a blue bird", 44);
        Assert.Equal(pixels[(1, 0)], repeated);
    }

    [Fact]
    public async Task A_seed_gives_the_image_diffusers_made_from_it_and_the_png_says_how()
    {
        // ../shared/conformance/cases-seeded/seeded_sd_turbo_1step_seed42: diffusers with torch.Generator("cpu").manual_seed(42).
        var reference = Path.Combine(ConformancePaths.SeededCases, "seeded_sd_turbo_1step_seed42", "image_0.png");
        var accepted = await StartAsync("""{"model":"tiny-sd-turbo","prompt":"a photo of a cat","seed":42,"num_inference_steps":1,"guidance_scale":0,"width":64,"height":64}""");

        var status = await WaitForEndAsync(accepted.GetProperty("id").GetString()!);
        var png = await DownloadPngAsync(status.GetProperty("images")[0].GetProperty("url").GetString()!);

        using var ours = Image.Load<Rgb24>(png);
        using var theirs = Image.Load<Rgb24>(reference);
        var a = new byte[64 * 64 * 3];
        var b = new byte[64 * 64 * 3];
        ours.CopyPixelDataTo(a);
        theirs.CopyPixelDataTo(b);
        Assert.True(a.Zip(b).All(p => Math.Abs(p.First - p.Second) <= 1), "the image differs from diffusers' for seed 42 by more than rounding");
        var text = ours.Metadata.GetPngMetadata().TextData.ToDictionary(t => t.Keyword, t => t.Value, StringComparer.Ordinal);
        Assert.Equal(("torch_cpu_generator_per_image", "avx2", "42"), (text["noise"], text["noise_kernel"], text["seed"]));
        using var manifest = JsonDocument.Parse((await Container.GetBlobClient($"generations/{status.GetProperty("id").GetString()}/manifest.json").DownloadContentAsync()).Value.Content.ToMemory());
        var request = manifest.RootElement.GetProperty("requests")[0].GetProperty("request");
        Assert.Equal(("torch_cpu_generator_per_image", "avx2"), (request.GetProperty("noise").GetString(), request.GetProperty("noise_kernel").GetString()));
    }

    [Fact]
    public async Task A_model_that_fails_to_load_fails_the_generation_with_an_error_in_its_status()
    {
        var accepted = await StartAsync("""{"model":"tiny-sd-turbo-broken","prompt":"a red fox","num_images_per_prompt":3,"seed":1}""");
        var id = accepted.GetProperty("id").GetString()!;

        var status = await WaitForEndAsync(id);

        Assert.Equal("failed", status.GetProperty("status").GetString());
        var error = status.GetProperty("error");
        _output.WriteLine($"error: {error}");
        Assert.Equal("render_failed", error.GetProperty("code").GetString());
        Assert.Contains("tiny-sd-turbo-broken", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetTempPath(), error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(status.GetProperty("images").EnumerateArray());
        Assert.Equal(0, status.GetProperty("progress").GetProperty("completed").GetInt32());
        Assert.Equal(3, status.GetProperty("progress").GetProperty("total").GetInt32());
        Assert.True(status.TryGetProperty("completed_at", out _));

        // The manifest records the failure too.
        using var manifest = JsonDocument.Parse((await Container.GetBlobClient($"generations/{id}/manifest.json").DownloadContentAsync()).Value.Content.ToMemory());
        Assert.Equal("failed", manifest.RootElement.GetProperty("status").GetString());
        Assert.Equal(error.GetProperty("message").GetString(), manifest.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    private Task<JsonElement> StartAsync(string json) => _app.StartAsync(json);

    /// <summary>Polls <c>GET /api/generations/{id}</c> as a client would, until the generation ends (bounded).</summary>
    private async Task<JsonElement> WaitForEndAsync(string id)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await _app.Http.GetAsync($"api/generations/{id}");
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET answered {(int)response.StatusCode}: {text}");
            var body = JsonDocument.Parse(text).RootElement.Clone();
            var status = body.GetProperty("status").GetString();
            if (status is "succeeded" or "failed" or "canceled")
            {
                _output.WriteLine($"{id} {status} after {clock.Elapsed.TotalSeconds:F1} s of polling");
                Assert.Null(response.Headers.RetryAfter);
                return body;
            }

            Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
            Assert.True(clock.Elapsed < s_maxWait, $"Generation {id} still '{status}' after {s_maxWait.TotalSeconds} s: {body}");
            await Task.Delay(200);
        }
    }

    private static async Task<byte[]> DownloadPngAsync(string url)
    {
        using var response = await s_http.GetAsync(new Uri(url));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>Checks a PNG (64×64, prompt and seed in its text chunks) and returns its RGB pixels.</summary>
    private static byte[] CheckPng(byte[] png, string prompt, long seed)
    {
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png.Take(8).ToArray());
        using var image = Image.Load<Rgb24>(png);
        Assert.Equal((64, 64), (image.Width, image.Height));
        var text = image.Metadata.GetPngMetadata().TextData.ToDictionary(t => t.Keyword, t => t.Value, StringComparer.Ordinal);
        Assert.Equal(prompt, text["prompt"]);
        Assert.Equal(seed.ToString(CultureInfo.InvariantCulture), text["seed"]);
        Assert.Equal(Model, text["model"]);
        var pixels = new byte[64 * 64 * 3];
        image.CopyPixelDataTo(pixels);
        Assert.True(pixels.Distinct().Count() > 16, "The image is (nearly) flat: the pipeline made no picture.");
        return pixels;
    }
}
