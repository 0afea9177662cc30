using FewStep.Functions.Tests.Support;
using Xunit.Abstractions;

namespace FewStep.Functions.Tests.Orchestration;

/// <summary>
/// The scenarios on the engine the Functions host runs — DurableTask.Core's TaskHubWorker over DurableTask.AzureStorage
/// against Azurite (real queues and tables, lock renewal, continue-as-new) — with the app's blobs in Azurite too.
/// </summary>
[Collection(AzuriteDefinition.Name)]
public sealed class RealEngineRunTests : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite;
    private readonly ITestOutputHelper _output;
    private TestApp _app = null!;

    public RealEngineRunTests(AzuriteFixture azurite, ITestOutputHelper output)
    {
        _azurite = azurite;
        _output = output;
    }

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Azurite = _azurite;
        o.Backend = DurableBackend.AzureStorage;
        o.Settings["FewStep:BatchesPerExecution"] = "8";
    });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public Task A_cancel_stops_rendering() => RunScenarios.CancelStopsRenderingAsync(_app, _output);

    [Fact]
    public Task A_small_request_overtakes_a_large_one() => RunScenarios.SmallRequestOvertakesALargeOneAsync(_app, _output);

    [Fact]
    public async Task A_generation_spanning_executions_completes_with_every_image()
    {
        var id = (await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":40,"seed":3}""")).GetProperty("id").GetString()!;

        var status = await _app.WaitForEndAsync(id, TimeSpan.FromMinutes(2));

        Assert.Equal("succeeded", status.GetProperty("status").GetString());
        Assert.Equal(Enumerable.Range(0, 40).Select(k => 3L + k), status.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("seed").GetInt64()));
        Assert.Equal(20, _app.Fake!.Calls);
    }

    [Fact]
    public async Task A_failed_generation_shows_its_error_from_the_apps_own_state()
    {
        _app.Fake!.Failure = () => new FewStep.Diffusion.DiffusionException("the prompt is too strange.");

        var id = (await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""")).GetProperty("id").GetString()!;
        var status = await _app.WaitForEndAsync(id, TimeSpan.FromMinutes(1));

        Assert.Equal("failed", status.GetProperty("status").GetString());
        Assert.Equal("invalid_request", status.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("the prompt is too strange.", status.GetProperty("error").GetProperty("message").GetString());
    }
}
