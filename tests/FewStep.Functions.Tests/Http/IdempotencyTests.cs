using System.Net;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Triggers;
using Microsoft.DurableTask.Client;
using Moq;

namespace FewStep.Functions.Tests.Http;

/// <summary><c>Idempotency-Key</c>: the same key names the same generation, started once.</summary>
public sealed class IdempotencyTests : IDisposable
{
    private const string Body = """{"model":"tiny-sd-turbo","prompt":"a fox"}""";

    private readonly ApiHarness _api = ApiHarness.Create();

    public void Dispose() => _api.Dispose();

    [Fact]
    public void Id_from_key_is_stable_distinct_and_url_safe()
    {
        var id = GenerationsApi.IdFromKey("order-1234");

        Assert.Equal(id, GenerationsApi.IdFromKey("order-1234"));
        Assert.NotEqual(id, GenerationsApi.IdFromKey("order-1235"));
        Assert.Equal(33, id.Length);
        Assert.Matches("^k[0-9a-f]{32}$", id);
    }

    [Fact]
    public async Task First_post_with_a_key_schedules_under_the_keys_id()
    {
        var response = await _api.PostAsync(Body, "order-1234");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = GenerationsApi.IdFromKey("order-1234");
        Assert.Equal(id, response.ReadJson().GetProperty("id").GetString());
        Assert.EndsWith($"/api/generations/{id}", response.Header("Location"), StringComparison.Ordinal);
        var start = Assert.Single(_api.Scheduled);
        Assert.Equal(id, start.Options?.InstanceId);
        Assert.Equal(id, start.GenerationInput.Id);
    }

    [Fact]
    public async Task Repeated_post_with_the_same_key_returns_the_existing_generation_and_its_original_seed()
    {
        var first = await _api.PostAsync(Body, "order-1234");
        var original = Assert.Single(_api.Scheduled).GenerationInput;
        _api.Instances[original.Id] = ApiHarness.Instance(original.Id, OrchestrationRuntimeStatus.Running, original);

        // The retry has no seed either: a fresh random one would be chosen, but the original must be reported.
        var second = await _api.PostAsync(Body, "order-1234");

        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Single(_api.Scheduled);
        var body = second.ReadJson();
        Assert.Equal(original.Id, body.GetProperty("id").GetString());
        Assert.Equal(original.Spec.Seed, body.GetProperty("seed").GetInt64());
        Assert.Equal(first.ReadJson().GetProperty("seed").GetInt64(), body.GetProperty("seed").GetInt64());
        Assert.Equal(first.Header("Location"), second.Header("Location"));
    }

    [Fact]
    public async Task Repeated_post_after_the_generation_finished_still_returns_it()
    {
        var id = GenerationsApi.IdFromKey("done-key");
        var input = ApiHarness.SampleInput(id, seed: 777);
        _api.Instances[id] = ApiHarness.Instance(id, OrchestrationRuntimeStatus.Completed, input);

        var response = await _api.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","seed":1}""", "done-key");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(777, response.ReadJson().GetProperty("seed").GetInt64());
        _api.VerifyNothingScheduled();
    }

    [Fact]
    public async Task Different_keys_start_different_generations()
    {
        var a = await _api.PostAsync(Body, "key-a");
        var b = await _api.PostAsync(Body, "key-b");

        Assert.NotEqual(a.ReadJson().GetProperty("id").GetString(), b.ReadJson().GetProperty("id").GetString());
        Assert.Equal([GenerationsApi.IdFromKey("key-a"), GenerationsApi.IdFromKey("key-b")], _api.Scheduled.Select(s => s.Options!.InstanceId));
    }

    [Fact]
    public async Task Without_a_key_every_post_is_a_new_generation()
    {
        await _api.PostAsync(Body);
        await _api.PostAsync(Body);

        Assert.Equal(2, _api.Scheduled.Select(s => s.Options!.InstanceId).Distinct().Count());
        _api.Client.Verify(c => c.GetInstanceAsync(It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task Race_lost_to_another_request_with_the_same_key_returns_the_winners_generation()
    {
        var id = GenerationsApi.IdFromKey("race");
        var winner = ApiHarness.SampleInput(id, seed: 4242);
        var lookups = 0;
        _api.InstanceLookup = lookupId =>
        {
            Assert.Equal(id, lookupId);
            // Not there when checked first; there once the start has failed because the other request won.
            return Interlocked.Increment(ref lookups) == 1 ? null : ApiHarness.Instance(id, OrchestrationRuntimeStatus.Pending, winner);
        };
        _api.ScheduleFailure = () => new InvalidOperationException($"An orchestration with instance ID '{id}' already exists.");

        var response = await _api.PostAsync(Body, "race");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = response.ReadJson();
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal(4242, body.GetProperty("seed").GetInt64());
        Assert.Single(_api.Scheduled);
        Assert.Equal(2, lookups);
    }

    [Fact]
    public async Task Race_with_the_dedupe_exception_of_the_durable_client_is_handled_too()
    {
        var id = GenerationsApi.IdFromKey("race-2");
        var lookups = 0;
        _api.InstanceLookup = _ => Interlocked.Increment(ref lookups) == 1 ? null : ApiHarness.Instance(id, OrchestrationRuntimeStatus.Running, ApiHarness.SampleInput(id, seed: 5));
        _api.ScheduleFailure = () => new global::DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException("exists");

        var response = await _api.PostAsync(Body, "race-2");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(5, response.ReadJson().GetProperty("seed").GetInt64());
    }

    [Fact]
    public async Task Start_failure_without_an_existing_instance_is_not_hidden()
    {
        _api.ScheduleFailure = () => new InvalidOperationException("the task hub is broken");

        await Assert.ThrowsAsync<InvalidOperationException>(() => _api.PostAsync(Body, "broken"));
    }
}
