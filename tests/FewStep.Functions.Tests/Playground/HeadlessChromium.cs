using Microsoft.Playwright;

namespace FewStep.Functions.Tests.Playground;

/// <summary>Debian's Chromium, headless, driven by Playwright (which never downloads a browser here).</summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private HeadlessChromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    /// <summary>Where the tests keep their screenshots: <c>artifacts/</c> in the test output folder.</summary>
    public static string ArtifactsFolder => Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;

    /// <summary>The browser, or null where it is not installed (the <see cref="ChromiumFactAttribute"/> tests are skipped there).</summary>
    public static async Task<HeadlessChromium?> StartAsync()
    {
        if (!File.Exists(ChromiumFactAttribute.Executable))
        {
            return null;
        }

        var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        try
        {
            // As root in a closed network: no sandbox, and none of Chromium's own background connections.
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumFactAttribute.Executable,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            return new HeadlessChromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
