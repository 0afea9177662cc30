using System.Net;
using FewStep.Functions.Tests.Support;

namespace FewStep.Functions.Tests.Http;

/// <summary>
/// The service's queue is bounded: past <c>MaxQueuedImages</c> images accepted and not yet rendered, a POST gets
/// 429 with <c>Retry-After</c>, and once the queue drains it is accepted again.
/// </summary>
public sealed class BackpressureTests : IAsyncLifetime
{
    private TestApp _app = null!;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Settings["FewStep:MaxImagesPerRequest"] = "10";
        o.Settings["FewStep:MaxQueuedImages"] = "20";
        o.Settings["FewStep:QueueFullRetryAfter"] = "00:00:07";
    });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Two_hundred_concurrent_posts_fill_the_queue_and_the_rest_get_429_with_retry_after()
    {
        var gate = new TaskCompletionSource();
        _app.Fake!.Gate = gate.Task;

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":4}""")));

        var accepted = responses.Count(r => r.StatusCode == HttpStatusCode.Accepted);
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(200, accepted + refused.Count);
        Assert.Equal(5, accepted);
        Assert.All(refused, r => Assert.Equal(TimeSpan.FromSeconds(7), r.Headers.RetryAfter?.Delta));
        var problem = await ValidationTests.AssertProblemAsync(refused[0], HttpStatusCode.TooManyRequests);
        Assert.Empty(problem);
        foreach (var response in responses)
        {
            response.Dispose();
        }

        gate.SetResult();
        await TestApp.EventuallyAsync(async () =>
        {
            using var again = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":10}""");
            return again.StatusCode == HttpStatusCode.Accepted;
        }, TimeSpan.FromSeconds(30), "the queue to drain");
    }

    [Fact]
    public async Task An_empty_queue_takes_the_largest_request()
    {
        using var response = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompts":["a","b"],"num_images_per_prompt":5}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task A_retry_with_an_idempotency_key_is_answered_even_when_the_queue_is_full()
    {
        _app.Fake!.Gate = new TaskCompletionSource().Task;
        await _app.StartAsync("""{"model":"tiny-sd-turbo","prompts":["a","b"],"num_images_per_prompt":5}""", "mine");
        await _app.StartAsync("""{"model":"tiny-sd-turbo","prompts":["a","b"],"num_images_per_prompt":5}""");
        await Task.Delay(_app.Options.QueueStatsMaxAge * 2);
        using (var full = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}"""))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, full.StatusCode);
        }

        using var retry = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompts":["a","b"],"num_images_per_prompt":5}""", "mine");

        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
    }
}
