using System.Net;
using FewStep.Functions.Tests.Support;

namespace FewStep.Functions.Tests.Playground;

/// <summary>The playground's files over HTTP: anonymous (the page holds no key), typed, under a strict CSP; nothing else is served.</summary>
public sealed class PlaygroundApiTests : IAsyncLifetime, IDisposable
{
    private TestApp _app = null!;
    private HttpClient _anonymous = null!;

    public async Task InitializeAsync()
    {
        _app = await TestApp.StartAsync(o => o.FunctionKeys = ["a-key"]);
        _anonymous = new HttpClient { BaseAddress = _app.Http.BaseAddress };
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    public void Dispose() => _anonymous.Dispose();

    [Theory]
    [InlineData("api/playground", "text/html", "playground/playground.js")]
    [InlineData("api/playground/playground.js", "text/javascript", "sessionStorage")]
    [InlineData("api/playground/playground.css", "text/css", "#images")]
    public async Task The_page_and_its_files_are_served_without_a_key_under_a_strict_csp(string path, string mediaType, string content)
    {
        using var response = await _anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains(content, body, StringComparison.Ordinal);
        Assert.DoesNotContain("a-key", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api/playground/playground.html")]
    [InlineData("api/playground/secrets.json")]
    [InlineData("api/playground/..%2Fhost.json")]
    public async Task Nothing_but_the_playground_files_is_served(string path)
    {
        using var response = await _anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
