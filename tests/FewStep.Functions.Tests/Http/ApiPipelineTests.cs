using System.Net;
using System.Text.Json;
using FewStep.Functions.Tests.Support;

namespace FewStep.Functions.Tests.Http;

/// <summary>
/// What a client sees on the wire through a real ASP.NET Core pipeline: status codes, content types and every
/// documented header (the Moq'd responses accepted headers added after the body; the real pipeline drops them),
/// and only the app's own URLs — never the Durable extension's management URLs with their system key.
/// </summary>
public sealed class ApiPipelineTests : IAsyncLifetime
{
    private TestApp _app = null!;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task A_202_has_location_retry_after_and_only_the_apps_own_url()
    {
        using var response = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","seed":7}""");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        using var body = JsonDocument.Parse(text);
        var id = body.RootElement.GetProperty("id").GetString()!;
        var statusUrl = new Uri(_app.Http.BaseAddress!, $"api/generations/{id}");
        Assert.Equal(statusUrl, response.Headers.Location);
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        Assert.Equal(statusUrl.ToString(), body.RootElement.GetProperty("status_url").GetString());
        Assert.Equal(7, body.RootElement.GetProperty("seed").GetInt64());
        Assert.Equal(["id", "seed", "status_url"], body.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("code=", text, StringComparison.Ordinal);
        Assert.DoesNotContain("runtime/webhooks", text, StringComparison.Ordinal);
        Assert.Contains("no-store", response.Headers.CacheControl?.ToString() ?? string.Empty, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_has_retry_after_while_running_and_none_once_ended()
    {
        _app.Fake!.Delay = TimeSpan.FromSeconds(1);
        var id = (await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":2}""")).GetProperty("id").GetString()!;

        using (var running = await _app.Http.GetAsync($"api/generations/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, running.StatusCode);
            Assert.Equal("application/json", running.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(2), running.Headers.RetryAfter?.Delta);
        }

        await _app.WaitForEndAsync(id);
        using var ended = await _app.Http.GetAsync($"api/generations/{id}");
        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        Assert.Null(ended.Headers.RetryAfter);
        using var body = JsonDocument.Parse(await ended.Content.ReadAsStringAsync());
        Assert.Equal("succeeded", body.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Delete_answers_202_with_location_then_409_once_ended()
    {
        _app.Fake!.Delay = TimeSpan.FromSeconds(2);
        var id = (await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":6}""")).GetProperty("id").GetString()!;

        using (var cancel = await _app.Http.DeleteAsync($"api/generations/{id}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
            Assert.Equal(new Uri(_app.Http.BaseAddress!, $"api/generations/{id}"), cancel.Headers.Location);
            using var body = JsonDocument.Parse(await cancel.Content.ReadAsStringAsync());
            Assert.Equal("canceling", body.RootElement.GetProperty("status").GetString());
        }

        await _app.WaitForEndAsync(id);
        using var again = await _app.Http.DeleteAsync($"api/generations/{id}");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Unknown_ids_are_404_problems()
    {
        using var get = await _app.Http.GetAsync($"api/generations/{Guid.NewGuid():N}");
        using var delete = await _app.Http.DeleteAsync($"api/generations/{Guid.NewGuid():N}");

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal("application/problem+json", get.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
    }

    [Fact]
    public async Task A_413_and_a_400_are_problems_with_their_status_in_the_body()
    {
        using var big = await _app.PostAsync($$"""{"model":"tiny-sd-turbo","prompt":"{{new string('x', 1_100_000)}}"}""");
        using var bad = await _app.PostAsync("{");

        await ValidationTests.AssertProblemAsync(big, HttpStatusCode.RequestEntityTooLarge);
        await ValidationTests.AssertProblemAsync(bad, HttpStatusCode.BadRequest);
    }
}
