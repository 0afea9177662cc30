using System.Net;
using System.Text.Json;
using FewStep.Functions.Manifests;
using FewStep.Functions.Tests.Support;
using Xunit.Abstractions;

namespace FewStep.Functions.Tests.Orchestration;

/// <summary>
/// Cancellation and fairness, as a user sees them, written once and run on both durable engines (the in-process
/// host and the Functions host's own, DurableTask.AzureStorage against Azurite).
/// </summary>
internal static class RunScenarios
{
    /// <summary>
    /// 300 images; DELETE while they render: from the 202 on, no batch starts, no image lands beyond the batch in
    /// flight, and the run ends <c>canceled</c> with a manifest of exactly the images made.
    /// </summary>
    public static async Task CancelStopsRenderingAsync(TestApp app, ITestOutputHelper output)
    {
        var fake = app.Fake!;
        fake.Delay = TimeSpan.FromMilliseconds(150);
        var id = (await app.StartAsync("""{"model":"tiny-sd-turbo","prompts":["a fox","a cat","an owl"],"num_images_per_prompt":100}""")).GetProperty("id").GetString()!;
        var prefix = $"generations/{id}";
        await TestApp.EventuallyAsync(async () => (await app.Images.ListImagesAsync(prefix, CancellationToken.None)).Count >= 6, TimeSpan.FromSeconds(60), "a few images");

        using (var cancel = await app.Http.DeleteAsync($"api/generations/{id}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }

        var acknowledgedAt = fake.Clock.Elapsed;
        var atAck = (await app.Images.ListImagesAsync(prefix, CancellationToken.None)).Count;
        var startsAtAck = fake.Starts.Count;
        var status = await app.WaitForEndAsync(id, TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var final = (await app.Images.ListImagesAsync(prefix, CancellationToken.None)).Count;

        var lateStarts = fake.Starts.Snapshot().Where(s => s.At > acknowledgedAt + TimeSpan.FromMilliseconds(50)).ToList();
        output.WriteLine($"images at the 202: {atAck}; at the end: {final}; renders begun by the 202: {startsAtAck}; after it: {lateStarts.Count}; status: {status.GetProperty("status").GetString()}");
        Assert.Empty(lateStarts);
        Assert.InRange(final - atAck, 0, app.Options.BatchSize);
        Assert.True(final < 300, $"all {final} images were made");
        Assert.Equal("canceled", status.GetProperty("status").GetString());
        Assert.Equal(final, status.GetProperty("images").GetArrayLength());
        Assert.Equal(final, status.GetProperty("progress").GetProperty("completed").GetInt32());

        var manifest = JsonDocument.Parse((await app.Images.ReadAsync(WriteManifestActivity.BlobName(prefix), CancellationToken.None))!.ToMemory()).RootElement;
        Assert.Equal("canceled", manifest.GetProperty("status").GetString());
        Assert.Equal(final, manifest.GetProperty("images_total").GetInt32());
        Assert.Equal("canceled", manifest.GetProperty("requests")[0].GetProperty("status").GetString());
    }

    /// <summary>
    /// A one-image request sent while a 2,000-image one renders waits for the batch rendering now (and at most one
    /// more already handed out), not for the 2,000.
    /// </summary>
    public static async Task SmallRequestOvertakesALargeOneAsync(TestApp app, ITestOutputHelper output)
    {
        var fake = app.Fake!;
        fake.Delay = TimeSpan.FromMilliseconds(100);
        var big = (await app.StartAsync("""{"model":"tiny-sd-turbo","prompts":["a fox","a cat"],"num_images_per_prompt":1000}""")).GetProperty("id").GetString()!;
        await TestApp.EventuallyAsync(() => Task.FromResult(fake.Starts.Count >= 5), TimeSpan.FromSeconds(60), "the large run to be rendering");

        var sentAt = fake.Clock.Elapsed;
        var small = (await app.StartAsync("""{"model":"tiny-sd-turbo","prompt":"a lighthouse"}""")).GetProperty("id").GetString()!;
        var status = await app.WaitForEndAsync(small, TimeSpan.FromSeconds(60));
        var doneAt = fake.Clock.Elapsed;

        var starts = fake.Starts.Snapshot();
        var smallStart = starts.Single(s => s.Job.Items[0].Prompt == "a lighthouse").At;
        var bigBetween = starts.Count(s => s.At > sentAt && s.At < smallStart && s.Job.Items[0].Prompt != "a lighthouse");
        output.WriteLine($"the 1-image request took {(doneAt - sentAt).TotalSeconds:F2} s; batches of the 2,000-image request begun meanwhile: {bigBetween}; renders of it so far: {starts.Count - 1}");
        Assert.Equal("succeeded", status.GetProperty("status").GetString());
        Assert.InRange(bigBetween, 0, 2);

        using var cancel = await app.Http.DeleteAsync($"api/generations/{big}");
        await app.WaitForEndAsync(big, TimeSpan.FromSeconds(60));
    }
}
