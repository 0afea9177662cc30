using System.Text.Json;
using FewStep.Functions.Previews;
using FewStep.Functions.Rendering;
using FewStep.Functions.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Functions.Tests.Previews;

/// <summary>
/// A running generation's status carries a live preview: the ONNX renderer on the tiny model makes it from a step's
/// latents, the render activity writes it to blob storage (Azurite), and <c>GET /api/generations/{id}</c> shows it as
/// a PNG data URL until the run ends. The renderer is held after its first preview so the test sees the run mid-way.
/// </summary>
[Collection(AzuriteDefinition.Name)]
public sealed class LivePreviewTests : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite;
    private readonly HoldingRenderer.Hold _hold = new();
    private TestApp _app = null!;

    public LivePreviewTests(AzuriteFixture azurite) => _azurite = azurite;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Azurite = _azurite;
        o.RealRenderer = true;
        o.WrapRenderer = inner => new HoldingRenderer(inner, _hold);
    });

    public async Task DisposeAsync()
    {
        _hold.Release.TrySetResult();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task The_status_of_a_running_generation_shows_a_png_preview_and_the_finished_one_does_not()
    {
        var accepted = await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a red fox","num_images_per_prompt":2,"num_inference_steps":4,"width":256,"height":192,"seed":5}""");
        var id = accepted.GetProperty("id").GetString()!;
        var reported = await _hold.First.Task.WaitAsync(TimeSpan.FromSeconds(60));

        JsonElement preview = default;
        await TestApp.EventuallyAsync(async () =>
        {
            var status = await _app.GetStatusAsync(id);
            Assert.Equal("running", status.GetProperty("status").GetString());
            return status.TryGetProperty("preview", out preview);
        }, TimeSpan.FromSeconds(30), "the preview to be in the status");

        Assert.Equal(reported.Step, preview.GetProperty("step").GetInt32());
        Assert.Equal(4, preview.GetProperty("steps").GetInt32());
        Assert.Equal((0, 0), (preview.GetProperty("prompt_index").GetInt32(), preview.GetProperty("image_index").GetInt32()));
        Assert.Equal("latent2rgb-sd15", preview.GetProperty("method").GetString());
        var url = preview.GetProperty("image").GetString()!;
        Assert.StartsWith("data:image/png;base64,", url, StringComparison.Ordinal);
        using (var png = Image.Load<Rgb24>(Convert.FromBase64String(url["data:image/png;base64,".Length..])))
        {
            // 256x192 pixels are 32x24 latents: the projection's preview is at latent size, under 128 px.
            Assert.Equal((32, 24), (png.Width, png.Height));
            Assert.Equal((32, 24), (preview.GetProperty("width").GetInt32(), preview.GetProperty("height").GetInt32()));
        }

        _hold.Release.SetResult();
        var done = await _app.WaitForEndAsync(id);
        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        Assert.False(done.TryGetProperty("preview", out _));
        Assert.Equal(2, done.GetProperty("images").GetArrayLength());
        Assert.Null(await _app.Images.ReadAsync(PreviewStore.BlobName(id), CancellationToken.None));
    }
}
