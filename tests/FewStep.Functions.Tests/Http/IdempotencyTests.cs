using System.Net;
using System.Text.Json;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Triggers;

namespace FewStep.Functions.Tests.Http;

/// <summary>
/// <c>Idempotency-Key</c>: the same key and request always name the same generation with the same seed, however
/// many copies race; the same key with another request is a 422 naming the key (as Stripe answers).
/// </summary>
public sealed class IdempotencyTests : IAsyncLifetime
{
    private const string Request = """{"model":"tiny-sd-turbo","prompts":["a fox","a cat"],"num_images_per_prompt":2}""";

    private TestApp _app = null!;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public void Id_from_key_is_stable_distinct_and_a_public_id()
    {
        Assert.Equal(GenerationStarter.IdFromKey("fox-42"), GenerationStarter.IdFromKey("fox-42"));
        Assert.NotEqual(GenerationStarter.IdFromKey("fox-42"), GenerationStarter.IdFromKey("fox-43"));
        Assert.True(PublicRuns.IsPublicId(GenerationStarter.IdFromKey("fox-42")));
    }

    [Fact]
    public async Task Twenty_concurrent_posts_with_one_key_start_one_generation_and_all_answer_its_id_and_seed()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _app.PostAsync(Request, "burst-1")));

        var bodies = new List<JsonElement>();
        foreach (var response in responses)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {text}");
            bodies.Add(JsonDocument.Parse(text).RootElement.Clone());
            response.Dispose();
        }

        var id = Assert.Single(bodies.Select(b => b.GetProperty("id").GetString()).Distinct());
        var seed = Assert.Single(bodies.Select(b => b.GetProperty("seed").GetInt64()).Distinct());
        Assert.Equal(GenerationStarter.IdFromKey("burst-1"), id);
        Assert.Equal(1, await _app.CountRunsAsync());
        var status = await _app.WaitForEndAsync(id!);
        Assert.Equal("succeeded", status.GetProperty("status").GetString());
        Assert.Equal(seed, status.GetProperty("seed").GetInt64());
        Assert.Equal([seed, seed + 1, seed + 2, seed + 3], status.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("seed").GetInt64()));
        Assert.Equal(2, _app.Fake!.Calls);
    }

    [Fact]
    public async Task The_same_key_with_another_request_is_a_422_naming_the_key()
    {
        await _app.StartAsync(Request, "reused");

        using var other = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a lighthouse"}""", "reused");

        var errors = await ValidationTests.AssertProblemAsync(other, (HttpStatusCode)422);
        Assert.Contains(GenerationsApi.IdempotencyKeyHeader, errors.Keys);
        Assert.Equal(1, await _app.CountRunsAsync());
    }

    [Fact]
    public async Task The_same_request_written_differently_is_the_same_request()
    {
        var first = await _app.StartAsync(Request, "spacing");

        var second = await _app.StartAsync("""
            { "num_images_per_prompt": 2, "prompts": [ "a fox", "a cat" ],
              "model": "tiny-sd-turbo" }
            """, "spacing");

        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("seed").GetInt64(), second.GetProperty("seed").GetInt64());
    }

    [Fact]
    public async Task A_retry_after_the_generation_ended_returns_it_and_starts_nothing()
    {
        var first = await _app.StartAsync(Request, "later");
        await _app.WaitForEndAsync(first.GetProperty("id").GetString()!);
        var calls = _app.Fake!.Calls;

        var again = await _app.StartAsync(Request, "later");

        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("seed").GetInt64(), again.GetProperty("seed").GetInt64());
        Assert.Equal(calls, _app.Fake.Calls);
        Assert.Equal(1, await _app.CountRunsAsync());
    }

    [Fact]
    public async Task A_given_seed_is_kept_and_a_missing_one_comes_from_the_key()
    {
        var given = await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","seed":9007199254740993}""", "seeded");
        var derived1 = await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""", "derived");

        Assert.Equal(9007199254740993, given.GetProperty("seed").GetInt64());
        Assert.Equal(FewStep.Functions.Validation.RequestFingerprint.SeedForKey("derived"), derived1.GetProperty("seed").GetInt64());
    }

    [Fact]
    public async Task Without_a_key_every_post_is_a_new_generation_with_its_own_seed()
    {
        var first = await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""");
        var second = await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""");

        Assert.NotEqual(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        Assert.Equal(2, await _app.CountRunsAsync());
    }

    [Fact]
    public async Task A_key_whose_first_post_died_before_starting_is_started_by_the_retry()
    {
        // The first POST recorded the request and died before the orchestration started.
        var id = GenerationStarter.IdFromKey("crashed");
        var spec = new FewStep.Functions.Contracts.GenerationSpec
        {
            Model = TestApp.Model, Prompts = ["a fox"], NumInferenceSteps = 1, GuidanceScale = 0, Width = 64, Height = 64,
            Seed = FewStep.Functions.Validation.RequestFingerprint.SeedForKey("crashed"), NumImagesPerPrompt = 1,
        };
        var plans = (FewStep.Functions.Plans.RunPlanStore)_app.Services.GetService(typeof(FewStep.Functions.Plans.RunPlanStore))!;
        Assert.True(await plans.TryCreateRequestAsync(new FewStep.Functions.Plans.StoredRequest(id, FewStep.Functions.Validation.RequestFingerprint.Of(spec), DateTimeOffset.UtcNow, 2, spec), CancellationToken.None));

        var retry = await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""", "crashed");

        Assert.Equal(id, retry.GetProperty("id").GetString());
        Assert.Equal("succeeded", (await _app.WaitForEndAsync(id)).GetProperty("status").GetString());
    }
}
