using System.Text;
using FewStep.Functions.Jobs;
using FewStep.Functions.Tests.Support;
using Microsoft.DurableTask.Client;

namespace FewStep.Functions.Tests.Jobs;

/// <summary>A 10,000-line job with a renderer that makes no pixels: continue-as-new every 64 batches, progress, a manifest.</summary>
[Collection(AzuriteDefinition.Name)]
public sealed class LargeJobTests : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite;
    private TestApp _app = null!;

    public LargeJobTests(AzuriteFixture azurite) => _azurite = azurite;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Azurite = _azurite;
        o.MemoryResultsStore = true;
        o.Settings["FewStep:BatchSize"] = "4";
        o.Settings["FewStep:BatchesPerExecution"] = "64";
        o.Settings["FewStep:RenderWindow"] = "8";
    });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Ten_thousand_lines_complete_across_executions_with_a_bounded_history()
    {
        var lines = new StringBuilder();
        for (var i = 0; i < 10_000; i++)
        {
            lines.Append("{\"model\": \"tiny-sd-turbo\", \"prompt\": \"image ").Append(i).Append("\", \"seed\": ").Append(i).Append("}\n");
        }

        var name = TestApp.UniqueName(".jsonl");
        var blob = await _app.UploadJobAsync(name, lines.ToString());

        var instance = await _app.RunJobAsync(blob, TimeSpan.FromMinutes(5));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        var output = instance.ReadOutputAs<FewStep.Functions.Orchestration.RunOutput>()!;
        Assert.Equal(("succeeded", 10_000, 0, 10_000), (output.Status, output.Requests, output.FailedRequests, output.Images));
        Assert.Equal(new Contracts.GenerationProgress(10_000, 10_000), instance.ReadCustomStatusAs<Contracts.GenerationProgress>());
        Assert.Equal(2_500, _app.Fake!.Calls);
        Assert.All(_app.Fake!.Jobs.Snapshot(), job => Assert.Equal(4, job.Items.Count));
        Assert.Equal(2_500 / 64 + 1, instance.ReadInputAs<FewStep.Functions.Orchestration.RunInput>()!.Cursor!.Execution);
        Assert.Equal(1, await _app.CountRunsAsync());
        var manifest = System.Text.Json.JsonDocument.Parse((await _app.MemoryResults!.ReadAsync($"{JobIds.ResultsPrefix(name)}/manifest.json", CancellationToken.None))!.ToMemory()).RootElement;
        Assert.Equal(10_000, manifest.GetProperty("requests").GetArrayLength());
        Assert.Equal(9_999, manifest.GetProperty("requests")[9_999].GetProperty("images")[0].GetProperty("seed").GetInt64());
    }
}
