using FewStep.Functions.Tests.Support;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace FewStep.Functions.Tests.Playground;

/// <summary>
/// The playground in a real browser: headless Chromium (Debian's, driven by Playwright) opens
/// <c>/api/playground</c> on the app's HTTP surface, the user pastes the function key, the model list comes from
/// <c>GET /api/v1/models</c>, and Generate renders the tiny model for real (durable engine and blobs on Azurite) until
/// an <c>&lt;img&gt;</c> shows the decoded PNG. A screenshot is kept under the test output's <c>artifacts/</c>.
/// </summary>
[Collection(AzuriteDefinition.Name)]
public sealed class PlaygroundBrowserTests : IAsyncLifetime
{
    private const string Key = "browser-test-key";

    private readonly AzuriteFixture _azurite;
    private readonly ITestOutputHelper _output;
    private TestApp _app = null!;
    private HeadlessChromium? _chromium;

    public PlaygroundBrowserTests(AzuriteFixture azurite, ITestOutputHelper output)
    {
        _azurite = azurite;
        _output = output;
    }

    public async Task InitializeAsync()
    {
        _app = await TestApp.StartAsync(o =>
        {
            o.Azurite = _azurite;
            o.RealRenderer = true;
            o.Backend = DurableBackend.AzureStorage;
            o.FunctionKeys = [Key];
        });
        _chromium = await HeadlessChromium.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }

        await _app.DisposeAsync();
    }

    [ChromiumFact]
    public async Task Generate_shows_the_rendered_png_in_the_page()
    {
        var page = await _chromium!.Browser.NewPageAsync();
        var errors = new List<string>();
        // Script errors only: the browser also logs the 401 of the model list asked for before the key is pasted.
        page.Console += (_, message) => { if (message.Type == "error" && !message.Text.Contains("401", StringComparison.Ordinal)) errors.Add(message.Text); };
        page.PageError += (_, error) => errors.Add(error);

        await page.GotoAsync(new Uri(_app.Http.BaseAddress!, "api/playground").AbsoluteUri);

        // Without the key the models cannot be listed; the page says so.
        await page.WaitForFunctionAsync("() => document.getElementById('status').classList.contains('error')");
        await page.FillAsync("#key", Key);
        await page.DispatchEventAsync("#key", "change");
        await page.WaitForFunctionAsync($"() => [...document.querySelectorAll('#model option')].some(o => o.value === '{TestApp.Model}')");
        await page.SelectOptionAsync("#model", TestApp.Model);
        await page.FillAsync("#prompt", "a red fox in the snow");
        await page.FillAsync("#size", "64x64");
        await page.FillAsync("#seed", "42");
        await page.FillAsync("#count", "2");
        await page.ClickAsync("#generate");

        // Two images, both decoded PNGs of the requested size.
        await page.WaitForFunctionAsync(
            "() => { const imgs = [...document.querySelectorAll('#images img')]; return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth === 64 && i.naturalHeight === 64); }",
            null, new PageWaitForFunctionOptions { Timeout = 90_000 });
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('Done: 2/2 images')", null,
            new PageWaitForFunctionOptions { Timeout = 30_000 });
        Assert.Equal(["42", "43"], await page.EvalOnSelectorAllAsync<string[]>("#images img", "imgs => imgs.map(i => i.dataset.seed)"));

        // The key is never in the page, and is kept for this tab only.
        Assert.DoesNotContain(Key, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.Equal(Key, await page.EvaluateAsync<string>("() => sessionStorage.getItem('fewstep-function-key')"));
        Assert.Null(await page.EvaluateAsync<string?>("() => localStorage.getItem('fewstep-function-key')"));

        var screenshot = Path.Combine(HeadlessChromium.ArtifactsFolder, "playground.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        _output.WriteLine($"screenshot: {screenshot}");
        Assert.True(new FileInfo(screenshot).Length > 0);
        Assert.Empty(errors);
    }
}
