using System.Text;
using FewStep.Functions.Jobs;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Orchestration;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace FewStep.Functions.Tests.Jobs;

/// <summary>
/// Malformed job files: each gives <c>error.json</c> listing every problem with its line, the file moves to the
/// rejected container, nothing is rendered, and the run ends (no retries, no poison loop).
/// </summary>
[Collection(AzuriteDefinition.Name)]
public sealed class JobRejectionTests : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite;
    private TestApp _app = null!;

    public JobRejectionTests(AzuriteFixture azurite) => _azurite = azurite;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Azurite = _azurite;
        o.Settings["FewStep:MaxJobBytes"] = "4096";
        o.Settings["FewStep:MaxJobRequests"] = "20";
        o.Settings["FewStep:MaxJobLineBytes"] = "512";
    });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    public static TheoryData<string, string, string> MalformedJobs() => new()
    {
        // kind, extension, expected problems as "line:field" separated by '|' ("-" = the whole file)
        { "a line that is not JSON", ".jsonl", "2:body" },
        { "a document that is not JSON", ".json", "3:body" },
        { "a line that is a list, not a request", ".jsonl", "1:body" },
        { "an unknown field", ".jsonl", "2:colour" },
        { "an empty file", ".jsonl", "-:file" },
        { "only blank lines and a byte-order mark", ".jsonl", "-:file" },
        { "over the size limit", ".jsonl", "-:file" },
        { "over the request limit", ".jsonl", "21:file" },
        { "a line over the line limit", ".jsonl", "2:line" },
        { "not a job file name", ".txt", "-:file" },
        { "not UTF-8", ".jsonl", "2:file" },
        { "requests is not a list", ".json", "1:requests" },
        { "an empty request list", ".json", "1:requests" },
        { "an unknown top-level field", ".json", "1:priority" },
        { "several bad requests", ".jsonl", "1:model|3:num_inference_steps|3:guidance_scale|4:prompt" },
        { "list elements report their own lines", ".json", "5:width" },
        { "a webhook in a job", ".jsonl", "1:webhook_url" },
        { "an unpaired surrogate escape", ".jsonl", "2:prompt" },
        { "an unpaired surrogate escape in a document", ".json", "1:prompt" },
        { "an unpaired surrogate escape in a name", ".jsonl", "1:body" },
        { "a duplicate field", ".jsonl", "2:prompt" },
        { "a NUL in a prompt", ".jsonl", "1:prompt" },
    };

    [Theory]
    [MemberData(nameof(MalformedJobs))]
    public async Task A_malformed_job_is_rejected_with_every_problem_and_its_line(string kind, string extension, string expected)
    {
        var name = TestApp.UniqueName(extension);
        var blob = await _app.UploadJobAsync(name, Content(kind));
        var prefix = JobIds.ResultsPrefix(name);

        var instance = await _app.RunJobAsync(blob);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        var output = instance.ReadOutputAs<RunOutput>()!;
        Assert.Equal("rejected", output.Status);
        Assert.Equal("rejected", output.Error!.Code);
        var error = await _app.ReadResultJsonAsync($"{prefix}/error.json");
        Assert.Equal("rejected", error.GetProperty("status").GetString());
        var problems = error.GetProperty("problems").EnumerateArray()
            .Select(p => $"{(p.GetProperty("line").ValueKind == System.Text.Json.JsonValueKind.Null ? "-" : p.GetProperty("line").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture))}:{p.GetProperty("field").GetString()}")
            .ToList();
        Assert.Equal(expected.Split('|'), problems);
        Assert.All(error.GetProperty("problems").EnumerateArray(), p => Assert.False(string.IsNullOrWhiteSpace(p.GetProperty("message").GetString())));

        Assert.False((await blob.ExistsAsync()).Value);
        var moved = _app.JobStorage.Rejected.GetBlobClient(name);
        Assert.True((await moved.ExistsAsync()).Value);
        Assert.Equal(instance.InstanceId, (await moved.GetPropertiesAsync()).Value.Metadata["fewstep_job_id"]);
        Assert.Equal(0, _app.Fake!.Calls);
        Assert.False((await _app.JobStorage.Results.GetBlobClient($"{prefix}/manifest.json").ExistsAsync()).Value);
    }

    [Fact]
    public async Task A_job_replaced_or_deleted_before_it_is_planned_is_superseded_and_nothing_is_written()
    {
        var name = TestApp.UniqueName(".jsonl");
        var blob = await _app.UploadJobAsync(name, """{"model": "tiny-sd-turbo", "prompt": "a fox"}""");
        var stale = (await blob.GetPropertiesAsync()).Value.ETag.ToString();
        await _app.UploadJobAsync(name, """{"model": "tiny-sd-turbo", "prompt": "another fox"}""");
        var plan = _app.Services.GetRequiredService<PlanJobActivity>();
        var input = RunInputs.ForJob("job-stale", name, stale, DateTimeOffset.UtcNow, _app.Options);

        var replaced = await plan.RunAsync(input, CancellationToken.None);
        await blob.DeleteAsync();
        var deleted = await plan.RunAsync(input, CancellationToken.None);

        Assert.Equal(RunStatuses.Superseded, replaced.Outcome);
        Assert.Equal(RunStatuses.Superseded, deleted.Outcome);
        Assert.False((await _app.JobStorage.Results.GetBlobClient($"{input.Prefix}/error.json").ExistsAsync()).Value);
        Assert.False((await _app.JobStorage.Rejected.GetBlobClient(name).ExistsAsync()).Value);
    }

    private static byte[] Content(string kind)
    {
        const string Good = """{"model": "tiny-sd-turbo", "prompt": "a fox"}""";
        string text = kind switch
        {
            "a line that is not JSON" => $"{Good}\n{{\"model\": \"tiny-sd-turbo\", \"prompt\": \n{Good}\n",
            "a document that is not JSON" => "{\"requests\": [\n  {\"model\": \"tiny-sd-turbo\", \"prompt\": \"a\"},\n  {\"model\" \"x\"}\n]}",
            "a line that is a list, not a request" => "[1, 2]\n",
            "an unknown field" => $"{Good}\n{{\"model\": \"tiny-sd-turbo\", \"prompt\": \"a fox\", \"colour\": \"red\"}}\n",
            "an empty file" => string.Empty,
            "only blank lines and a byte-order mark" => "\uFEFF\r\n  \r\n\n",
            "over the size limit" => string.Join("\n", Enumerable.Repeat(Good, 100)),
            "over the request limit" => string.Join("\n", Enumerable.Repeat(Good, 21)),
            "a line over the line limit" => $"{Good}\n{{\"model\": \"tiny-sd-turbo\", \"prompt\": \"{new string('x', 600)}\"}}\n",
            "not a job file name" => Good,
            "requests is not a list" => """{"requests": {"model": "tiny-sd-turbo"}}""",
            "an empty request list" => """{"requests": []}""",
            "an unknown top-level field" => $$"""{"priority": 1, "requests": [{{Good}}]}""",
            "several bad requests" => "{\"model\": \"sd-nope\", \"prompt\": \"a\"}\n" + Good + "\n"
                + "{\"model\": \"tiny-sd-turbo\", \"prompt\": \"a\", \"num_inference_steps\": 9, \"guidance_scale\": -1}\n"
                + "{\"model\": \"tiny-sd-turbo\", \"prompt\": \"   \"}\n",
            "list elements report their own lines" => "[\n  " + Good + ",\n  " + Good + ",\n\n  {\"model\": \"tiny-sd-turbo\", \"prompt\": \"a\",\n   \"width\": 72}\n]",
            "an unpaired surrogate escape" => Good + "\n{\"model\": \"tiny-sd-turbo\", \"prompt\": \"\\ud800\"}\n",
            "an unpaired surrogate escape in a document" => "{\"requests\": [{\"model\": \"tiny-sd-turbo\", \"prompt\": \"a \\udfff\"}]}",
            "an unpaired surrogate escape in a name" => "{\"model\": \"tiny-sd-turbo\", \"prompt\": \"a\", \"\\ud800\": 1}\n",
            "a duplicate field" => Good + "\n{\"model\": \"tiny-sd-turbo\", \"prompt\": \"a\", \"prompt\": \"b\"}\n",
            "a NUL in a prompt" => "{\"model\": \"tiny-sd-turbo\", \"prompt\": \"a\\u0000b\"}\n",
            "a webhook in a job" => """{"model": "tiny-sd-turbo", "prompt": "a", "webhook_url": "https://example.com/hook"}""",
            "not UTF-8" => "",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        return kind == "not UTF-8"
            ? [.. Encoding.UTF8.GetBytes(Good + "\n{\"model\": \"tiny-sd-turbo\", \"prompt\": \""), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"}\n")]
            : Encoding.UTF8.GetBytes(text);
    }
}
