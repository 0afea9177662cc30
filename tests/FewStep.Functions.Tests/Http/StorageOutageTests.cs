using System.Net;
using FewStep.Functions.Tests.Support;
using Xunit.Abstractions;

namespace FewStep.Functions.Tests.Http;

/// <summary>
/// Storage really gone (the app's own Azurite process killed, durable backend and blobs alike): GET, POST and
/// DELETE answer 503 with <c>Retry-After</c>, whatever the Azure SDK and the durable engine throw.
/// </summary>
public sealed class StorageOutageTests : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite = new();
    private readonly ITestOutputHelper _output;

    public StorageOutageTests(ITestOutputHelper output) => _output = output;

    public Task InitializeAsync() => _azurite.InitializeAsync();

    public Task DisposeAsync() => _azurite.DisposeAsync();

    [Fact]
    public async Task Requests_while_storage_is_down_are_503_with_retry_after()
    {
        await using var app = await TestApp.StartAsync(o =>
        {
            o.Azurite = _azurite;
            o.Backend = DurableBackend.AzureStorage;

            // No worker: its shutdown would wait for the storage this test takes away. The run stays pending.
            o.StartWorker = false;
        });
        var id = (await app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""")).GetProperty("id").GetString()!;
        Assert.Equal("pending", (await app.GetStatusAsync(id)).GetProperty("status").GetString());

        await _azurite.DisposeAsync();

        foreach (var (name, send) in new (string, Func<Task<HttpResponseMessage>>)[]
        {
            ("GET", () => app.Http.GetAsync($"api/generations/{id}")),
            ("POST", () => app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""")),
            ("DELETE", () => app.Http.DeleteAsync($"api/generations/{id}")),
        })
        {
            using var response = await send();
            _output.WriteLine($"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            await ValidationTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.NotNull(response.Headers.RetryAfter);
        }
    }
}
