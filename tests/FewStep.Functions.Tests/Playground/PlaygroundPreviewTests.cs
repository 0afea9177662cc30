using FewStep.Functions.Tests.Support;
using Microsoft.Playwright;

namespace FewStep.Functions.Tests.Playground;

/// <summary>
/// The playground shows the live preview: the tiny model renders for real and is held after its first preview, so
/// headless Chromium sees the preview image (a decoded PNG data URL) and its step while the generation runs, and the
/// images once it is released.
/// </summary>
[Collection(AzuriteDefinition.Name)]
public sealed class PlaygroundPreviewTests : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite;
    private readonly HoldingRenderer.Hold _hold = new();
    private TestApp _app = null!;
    private HeadlessChromium? _chromium;

    public PlaygroundPreviewTests(AzuriteFixture azurite) => _azurite = azurite;

    public async Task InitializeAsync()
    {
        _app = await TestApp.StartAsync(o =>
        {
            o.Azurite = _azurite;
            o.RealRenderer = true;
            o.WrapRenderer = inner => new HoldingRenderer(inner, _hold);
        });
        _chromium = await HeadlessChromium.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _hold.Release.TrySetResult();
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }

        await _app.DisposeAsync();
    }

    [ChromiumFact]
    public async Task The_preview_appears_while_the_generation_runs_and_the_images_after()
    {
        var page = await _chromium!.Browser.NewPageAsync();
        await page.GotoAsync(new Uri(_app.Http.BaseAddress!, "api/playground").AbsoluteUri);
        await page.WaitForFunctionAsync($"() => [...document.querySelectorAll('#model option')].some(o => o.value === '{TestApp.Model}')");
        await page.SelectOptionAsync("#model", TestApp.Model);
        await page.FillAsync("#prompt", "a lighthouse at dusk");
        await page.FillAsync("#size", "256x192");
        await page.FillAsync("#steps", "4");
        await page.ClickAsync("#generate");

        await page.WaitForFunctionAsync(
            "() => { const p = document.getElementById('preview'); return !document.getElementById('preview-box').hidden && p.complete && p.naturalWidth === 32 && p.naturalHeight === 24; }",
            null, new PageWaitForFunctionOptions { Timeout = 60_000 });
        Assert.Equal("step 1/4", await page.TextContentAsync("#preview-step"));
        Assert.StartsWith("data:image/png;base64,", await page.GetAttributeAsync("#preview", "src"), StringComparison.Ordinal);
        Assert.StartsWith("running", await page.TextContentAsync("#status"), StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(HeadlessChromium.ArtifactsFolder, "playground-preview.png"), FullPage = true });

        _hold.Release.SetResult();
        await page.WaitForFunctionAsync(
            "() => document.getElementById('status').textContent.startsWith('Done') && [...document.querySelectorAll('#images img')].every(i => i.complete && i.naturalWidth === 256)",
            null, new PageWaitForFunctionOptions { Timeout = 60_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => document.getElementById('preview-box').hidden"));
    }
}
