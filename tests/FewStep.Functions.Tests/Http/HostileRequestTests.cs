using System.Net;
using Azure;
using FewStep.Functions.Tests.Support;

namespace FewStep.Functions.Tests.Http;

/// <summary>
/// The requests that gave 500s (or reached internal instances) under the real host, each with the answer it must
/// get now: ids the API never issued are 404 without touching them; storage being down is a 503 with
/// <c>Retry-After</c>. (Hostile bodies are in <see cref="ValidationTests"/> and <see cref="FuzzTests"/>.)
/// </summary>
public sealed class HostileRequestTests : IAsyncLifetime
{
    private TestApp _app = null!;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    public static TheoryData<string> ForeignIds() => new()
    {
        "@entity@x",
        "@x",
        "@",
        "x",
        "generation",
        "00000000000000000000000000000000-chunk-0",
        "K0123456789abcdef0123456789abcdef",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef0",
        "job-0123456789abcdef0123456789abcde",
        "job-0123456789abcdef0123456789abcdef-chunk-1",
        "%40entity%40x",
        "fox%20in%20snow",
        "\u00e9t\u00e9",
        new string('a', 2000),
    };

    [Theory]
    [MemberData(nameof(ForeignIds))]
    public async Task Get_and_delete_of_an_id_the_api_never_issued_are_404(string id)
    {
        using var get = await _app.Http.GetAsync($"api/generations/{id}");
        using var delete = await _app.Http.DeleteAsync($"api/generations/{id}");

        await ValidationTests.AssertProblemAsync(get, HttpStatusCode.NotFound);
        await ValidationTests.AssertProblemAsync(delete, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_internal_instance_with_a_public_looking_id_is_neither_shown_nor_canceled()
    {
        var id = Guid.NewGuid().ToString("N");
        await _app.Client.ScheduleNewOrchestrationInstanceAsync("SomethingElse", input: null, new Microsoft.DurableTask.StartOrchestrationOptions { InstanceId = id });

        using var get = await _app.Http.GetAsync($"api/generations/{id}");
        using var delete = await _app.Http.DeleteAsync($"api/generations/{id}");

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
        Assert.False(await _app.Images.ExistsAsync(FewStep.Functions.Cancellation.RunCancellation.MarkerName(id), CancellationToken.None));
    }

    [Theory]
    [InlineData("api/jobs/")]
    [InlineData("api/jobs")]
    [InlineData("api/jobs/.")]
    [InlineData("api/jobs/%2e")]
    [InlineData("api/jobs/%2e%2e")]
    [InlineData("api/jobs/a//b.jsonl")]
    [InlineData("api/jobs/%20")]
    public async Task Job_names_that_cannot_be_a_job_file_are_404(string path)
    {
        using var response = await _app.Http.GetAsync(path);

        Assert.True(response.StatusCode is HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task Get_post_and_delete_while_storage_is_down_are_503_with_retry_after()
    {
        var id = (await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""")).GetProperty("id").GetString()!;
        await _app.WaitForEndAsync(id);
        _app.MemoryImages!.Outage = () => new RequestFailedException(503, "The server is busy.");

        using var get = await _app.Http.GetAsync($"api/generations/{id}");
        using var post = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""");

        foreach (var response in new[] { get, post })
        {
            await ValidationTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.Equal(TimeSpan.FromSeconds(10), response.Headers.RetryAfter?.Delta);
        }
    }

    [Fact]
    public async Task A_bug_is_a_500_problem_that_says_nothing_of_the_internals()
    {
        var id = (await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""")).GetProperty("id").GetString()!;
        await _app.WaitForEndAsync(id);
        _app.MemoryImages!.Outage = () => new InvalidOperationException("secret internal detail at /srv/models");

        using var get = await _app.Http.GetAsync($"api/generations/{id}");

        await ValidationTests.AssertProblemAsync(get, HttpStatusCode.InternalServerError);
        Assert.DoesNotContain("secret", await get.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
