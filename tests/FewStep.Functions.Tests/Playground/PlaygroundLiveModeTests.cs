using FewStep.Functions.Tests.Support;
using Microsoft.Playwright;

namespace FewStep.Functions.Tests.Playground;

/// <summary>
/// The playground's live mode in headless Chromium: typing starts a generation after a pause (debounced), and typing
/// again while it renders cancels it (<c>DELETE</c>) before the next starts. Slow fake renders keep the first one running.
/// </summary>
public sealed class PlaygroundLiveModeTests : IAsyncLifetime
{
    private TestApp _app = null!;
    private HeadlessChromium? _chromium;

    public async Task InitializeAsync()
    {
        _app = await TestApp.StartAsync();
        _app.Fake!.Delay = TimeSpan.FromSeconds(30);
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
    public async Task Typing_in_live_mode_generates_after_a_pause_and_cancels_the_running_generation()
    {
        var page = await _chromium!.Browser.NewPageAsync();
        var posts = new List<string>();
        var deletes = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Method == "POST" && request.Url.EndsWith("/api/generations", StringComparison.Ordinal))
            {
                lock (posts)
                {
                    posts.Add(request.PostData ?? string.Empty);
                }
            }
            else if (request.Method == "DELETE")
            {
                lock (deletes)
                {
                    deletes.Add(request.Url);
                }
            }
        };
        await page.GotoAsync(new Uri(_app.Http.BaseAddress!, "api/playground").AbsoluteUri);
        await page.WaitForFunctionAsync($"() => [...document.querySelectorAll('#model option')].some(o => o.value === '{TestApp.Model}')");
        await page.SelectOptionAsync("#model", TestApp.Model);
        await page.FillAsync("#size", "64x64");
        await page.CheckAsync("#live");

        // Keystrokes closer together than the debounce make one generation.
        await page.Locator("#prompt").PressSequentiallyAsync("a fox", new LocatorPressSequentiallyOptions { Delay = 50 });
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('running')", null, new PageWaitForFunctionOptions { Timeout = 30_000 });
        Assert.Single(posts);
        Assert.Contains("\"prompt\":\"a fox\"", posts[0], StringComparison.Ordinal);

        await page.Locator("#prompt").PressSequentiallyAsync(" in snow");
        await TestApp.EventuallyAsync(() => Task.FromResult(posts.Count == 2), TimeSpan.FromSeconds(30), "the second generation to start");

        var deleted = Assert.Single(deletes);
        Assert.Contains("\"prompt\":\"a fox in snow\"", posts[1], StringComparison.Ordinal);
        var firstId = deleted[(deleted.LastIndexOf('/') + 1)..];
        await TestApp.EventuallyAsync(async () => (await _app.GetStatusAsync(firstId)).GetProperty("status").GetString() is "canceled", TimeSpan.FromSeconds(60), "the first generation to be canceled");
    }
}
