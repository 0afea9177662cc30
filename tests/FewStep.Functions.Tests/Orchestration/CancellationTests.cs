using FewStep.Functions.Tests.Support;
using Xunit.Abstractions;

namespace FewStep.Functions.Tests.Orchestration;

/// <summary>Cancellation and fairness on the in-process durable host (the same scenarios run on Azure Storage in <see cref="RealEngineRunTests"/>).</summary>
public sealed class CancellationAndFairnessTests : IAsyncLifetime
{
    private readonly ITestOutputHelper _output;
    private TestApp _app = null!;

    public CancellationAndFairnessTests(ITestOutputHelper output) => _output = output;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public Task A_cancel_stops_rendering() => RunScenarios.CancelStopsRenderingAsync(_app, _output);

    [Fact]
    public Task A_small_request_overtakes_a_large_one() => RunScenarios.SmallRequestOvertakesALargeOneAsync(_app, _output);

    [Fact]
    public async Task A_pending_generation_canceled_before_it_renders_ends_canceled_with_nothing_made()
    {
        var gate = new TaskCompletionSource();
        _app.Fake!.Gate = gate.Task;
        var first = (await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":2}""")).GetProperty("id").GetString()!;
        var second = (await _app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a cat","num_images_per_prompt":2}""")).GetProperty("id").GetString()!;

        using var cancel = await _app.Http.DeleteAsync($"api/generations/{second}");
        Assert.Equal(System.Net.HttpStatusCode.Accepted, cancel.StatusCode);
        // A run still waiting for its turn may finish canceling before this read, so either state is right here;
        // what matters is that it never renders once the gate opens.
        Assert.Contains((await _app.GetStatusAsync(second)).GetProperty("status").GetString(), new[] { "canceling", "canceled" });
        gate.SetResult();

        var status = await _app.WaitForEndAsync(second);
        Assert.Equal("canceled", status.GetProperty("status").GetString());
        Assert.Equal(0, status.GetProperty("images").GetArrayLength());
        Assert.Equal("succeeded", (await _app.WaitForEndAsync(first)).GetProperty("status").GetString());
        Assert.DoesNotContain(_app.Fake.Jobs.Snapshot(), j => j.Items[0].Prompt == "a cat");
    }
}
