using System.Text;
using FewStep.Functions.Jobs;
using FewStep.Functions.Tests.Support;
using Microsoft.DurableTask.Client;

namespace FewStep.Functions.Tests.Jobs;

/// <summary>A 10,000-line job with a renderer that makes no pixels: chunked sub-orchestrations, progress, a manifest.</summary>
[Collection(AzuriteDefinition.Name)]
public sealed class LargeJobTests : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite;
    private readonly FakeRenderer _renderer = new();
    private readonly InMemoryImageStore _results = new();
    private JobTestApp _app = null!;

    public LargeJobTests(AzuriteFixture azurite) => _azurite = azurite;

    public async Task InitializeAsync() => _app = await JobTestApp.StartAsync(_azurite, new Dictionary<string, string?>
    {
        ["FewStep:BatchSize"] = "4",
        ["FewStep:SubOrchestrationThreshold"] = "64",
        ["FewStep:BatchesPerSubOrchestration"] = "64",
    }, _renderer, _results);

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Ten_thousand_lines_complete_through_chunked_sub_orchestrations()
    {
        var lines = new StringBuilder();
        for (var i = 0; i < 10_000; i++)
        {
            lines.Append("{\"model\": \"tiny-sd-turbo\", \"prompt\": \"image ").Append(i).Append("\", \"seed\": ").Append(i).Append("}\n");
        }

        var name = JobTestApp.UniqueName(".jsonl");
        var blob = await _app.UploadAsync(name, lines.ToString());

        var instance = await _app.RunAsync(blob, TimeSpan.FromMinutes(5));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        var output = instance.ReadOutputAs<JobOutput>()!;
        Assert.Equal(("succeeded", 10_000, 0, 10_000), (output.Status, output.Requests, output.FailedRequests, output.Images));
        Assert.Equal(new Contracts.GenerationProgress(10_000, 10_000), instance.ReadCustomStatusAs<Contracts.GenerationProgress>());
        Assert.Equal(2_500, _renderer.Calls);
        Assert.All(_renderer.Jobs.Snapshot(), job => Assert.Equal(4, job.Items.Count));
        Assert.NotNull(await _app.Host.Client.GetInstanceAsync($"{instance.InstanceId}-chunk-39"));
        Assert.Null(await _app.Host.Client.GetInstanceAsync($"{instance.InstanceId}-chunk-40"));
        var manifest = await _app.ReadResultJsonAsync($"{JobIds.ResultsPrefix(name)}/manifest.json");
        Assert.Equal(10_000, manifest.GetProperty("requests").GetArrayLength());
        Assert.Equal(9_999, manifest.GetProperty("requests")[9_999].GetProperty("images")[0].GetProperty("seed").GetInt64());
    }
}
