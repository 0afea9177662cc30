using System.Net;
using System.Text.Json;
using FewStep.Diffusion;
using FewStep.Functions.Contracts;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Storage;
using FewStep.Functions.Tests.Support;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Moq;

namespace FewStep.Functions.Tests.Http;

/// <summary><c>GET /api/generations/{id}</c>: status, progress and images of a generation.</summary>
public sealed class GetGenerationTests : IDisposable
{
    private const string Id = "0123456789abcdef0123456789abcdef";

    private readonly ApiHarness _api = ApiHarness.Create();

    public void Dispose() => _api.Dispose();

    [Fact]
    public async Task Unknown_id_is_a_404_problem()
    {
        var response = await _api.GetAsync("no-such-generation");

        StartGenerationValidationTests.AssertProblem(response, HttpStatusCode.NotFound);
        Assert.Contains("no-such-generation", response.ReadJson().GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reads_the_instance_with_its_inputs_and_outputs()
    {
        _api.Instances[Id] = ApiHarness.Instance(Id, OrchestrationRuntimeStatus.Running, ApiHarness.SampleInput(Id, seed: 1));

        await _api.GetAsync(Id);

        _api.Client.Verify(c => c.GetInstanceAsync(Id, true, It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task Running_generation_shows_progress_finished_images_and_retry_after()
    {
        var input = ApiHarness.SampleInput(Id, seed: 100, prompts: 2, imagesPerPrompt: 2);
        _api.Instances[Id] = ApiHarness.Instance(Id, OrchestrationRuntimeStatus.Running, input, customStatus: new GenerationProgress(1, 4));
        await PutImage(input, 1, 0);
        await PutImage(input, 0, 1);
        await _api.Store.WriteJsonAsync($"generations/{Id}/manifest.json", BinaryData.FromString("{}"), CancellationToken.None);
        await _api.Store.UploadPngAsync("generations/other/p0-i0.png", BinaryData.FromString("png"),
            ImageMetadata.For(0, 0, 1, "tiny-sd-turbo", 1, 0, 64, 64), CancellationToken.None);

        var response = await _api.GetAsync(Id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("application/json", response.Header("Content-Type"), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(response.Header("Retry-After")));
        var body = response.ReadJson();
        Assert.Equal(Id, body.GetProperty("id").GetString());
        Assert.Equal("running", body.GetProperty("status").GetString());
        Assert.Equal("tiny-sd-turbo", body.GetProperty("model").GetString());
        Assert.Equal(100, body.GetProperty("seed").GetInt64());
        Assert.Equal(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero), body.GetProperty("created_at").GetDateTimeOffset());
        Assert.False(body.TryGetProperty("completed_at", out _));
        Assert.False(body.TryGetProperty("error", out _));
        Assert.Equal(1, body.GetProperty("progress").GetProperty("completed").GetInt32());
        Assert.Equal(4, body.GetProperty("progress").GetProperty("total").GetInt32());

        var images = body.GetProperty("images").EnumerateArray().ToArray();
        Assert.Equal(2, images.Length);
        AssertImage(images[0], input, 0, 1);
        AssertImage(images[1], input, 1, 0);
    }

    [Fact]
    public async Task Running_generation_without_custom_status_yet_shows_zero_of_total()
    {
        _api.Instances[Id] = ApiHarness.Instance(Id, OrchestrationRuntimeStatus.Pending, ApiHarness.SampleInput(Id, seed: 1, prompts: 3));

        var response = await _api.GetAsync(Id);

        var body = response.ReadJson();
        Assert.Equal("pending", body.GetProperty("status").GetString());
        Assert.Equal(0, body.GetProperty("progress").GetProperty("completed").GetInt32());
        Assert.Equal(3, body.GetProperty("progress").GetProperty("total").GetInt32());
        Assert.Empty(body.GetProperty("images").EnumerateArray());
        Assert.False(string.IsNullOrEmpty(response.Header("Retry-After")));
    }

    [Fact]
    public async Task Completed_generation_has_succeeded_with_its_completion_time_and_no_retry_after()
    {
        var input = ApiHarness.SampleInput(Id, seed: 7, imagesPerPrompt: 2);
        var updated = new DateTimeOffset(2025, 1, 2, 3, 6, 0, TimeSpan.Zero);
        _api.Instances[Id] = ApiHarness.Instance(Id, OrchestrationRuntimeStatus.Completed, input,
            customStatus: new GenerationProgress(2, 2), output: new GenerationOutput(2, 1, 123.4, updated), lastUpdatedAt: updated);
        await PutImage(input, 0, 0);
        await PutImage(input, 0, 1);

        var response = await _api.GetAsync(Id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(string.Empty, response.Header("Retry-After"));
        var body = response.ReadJson();
        Assert.Equal("succeeded", body.GetProperty("status").GetString());
        Assert.Equal(updated, body.GetProperty("completed_at").GetDateTimeOffset());
        Assert.Equal(2, body.GetProperty("progress").GetProperty("completed").GetInt32());
        Assert.Equal(2, body.GetProperty("progress").GetProperty("total").GetInt32());
        Assert.Equal(2, body.GetProperty("images").GetArrayLength());
        Assert.False(body.TryGetProperty("error", out _));
    }

    [Fact]
    public async Task Failed_generation_reports_the_root_cause_of_a_user_error_as_invalid_request()
    {
        var input = ApiHarness.SampleInput(Id, seed: 7);
        // As the durable runtime records an orchestration failed by an activity: the task wrapper outside, the cause inside.
        var failure = new TaskFailureDetails(
            typeof(TaskFailedException).FullName!,
            "Task 'RenderBatch' (#0) failed with an unhandled exception: prompt 0 is too long for the tokenizer.",
            null,
            new TaskFailureDetails(typeof(DiffusionException).FullName!, "prompt 0 is too long for the tokenizer.", "at ...", null, null),
            null);
        _api.Instances[Id] = ApiHarness.Instance(Id, OrchestrationRuntimeStatus.Failed, input, customStatus: new GenerationProgress(0, 1), failure: failure);

        var response = await _api.GetAsync(Id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(string.Empty, response.Header("Retry-After"));
        var body = response.ReadJson();
        Assert.Equal("failed", body.GetProperty("status").GetString());
        Assert.True(body.TryGetProperty("completed_at", out _));
        var error = body.GetProperty("error");
        Assert.Equal("invalid_request", error.GetProperty("code").GetString());
        Assert.Equal("prompt 0 is too long for the tokenizer.", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Failed_generation_through_a_sub_orchestration_still_finds_the_user_error()
    {
        var failure = new TaskFailureDetails(typeof(TaskFailedException).FullName!, "Task 'RenderChunk' (#0) failed", null,
            new TaskFailureDetails(typeof(TaskFailedException).FullName!, "Task 'RenderBatch' (#3) failed", null,
                new TaskFailureDetails(typeof(DiffusionException).FullName!, "model 'x' is not in this service's catalog.", null, null, null), null), null);
        _api.Instances[Id] = ApiHarness.Instance(Id, OrchestrationRuntimeStatus.Failed, ApiHarness.SampleInput(Id, seed: 7), failure: failure);

        var error = (await _api.GetAsync(Id)).ReadJson().GetProperty("error");

        Assert.Equal("invalid_request", error.GetProperty("code").GetString());
        Assert.Equal("model 'x' is not in this service's catalog.", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Failed_generation_by_anything_else_is_render_failed()
    {
        var failure = new TaskFailureDetails(typeof(TaskFailedException).FullName!, "Task 'RenderBatch' (#0) failed", null,
            new TaskFailureDetails("Microsoft.ML.OnnxRuntime.OnnxRuntimeException", "[ErrorCode:RuntimeException] CUDA failure 2: out of memory", null, null, null), null);
        _api.Instances[Id] = ApiHarness.Instance(Id, OrchestrationRuntimeStatus.Failed, ApiHarness.SampleInput(Id, seed: 7), failure: failure);

        var error = (await _api.GetAsync(Id)).ReadJson().GetProperty("error");

        Assert.Equal("render_failed", error.GetProperty("code").GetString());
        Assert.Equal("[ErrorCode:RuntimeException] CUDA failure 2: out of memory", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Terminated_generation_is_canceled()
    {
        _api.Instances[Id] = ApiHarness.Instance(Id, OrchestrationRuntimeStatus.Terminated, ApiHarness.SampleInput(Id, seed: 7),
            customStatus: new GenerationProgress(1, 1), output: "canceled by DELETE");

        var response = await _api.GetAsync(Id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(string.Empty, response.Header("Retry-After"));
        var body = response.ReadJson();
        Assert.Equal("canceled", body.GetProperty("status").GetString());
        Assert.True(body.TryGetProperty("completed_at", out _));
        Assert.Equal(1, body.GetProperty("progress").GetProperty("completed").GetInt32());
    }

    [Fact]
    public async Task Instance_without_input_still_answers()
    {
        _api.Instances[Id] = ApiHarness.Instance(Id, OrchestrationRuntimeStatus.Running, input: null);

        var response = await _api.GetAsync(Id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("running", response.ReadJson().GetProperty("status").GetString());
    }

    private Task PutImage(GenerationInput input, int promptIndex, int imageIndex) =>
        _api.Store.UploadPngAsync(
            RenderBatchInput.BlobName(input.BlobPrefix, promptIndex, imageIndex),
            BinaryData.FromBytes([0x89, (byte)'P', (byte)'N', (byte)'G']),
            ImageMetadata.For(promptIndex, imageIndex, input.Spec.ImageSeed(promptIndex, imageIndex), input.Spec.Model, 1, 0, 64, 64),
            CancellationToken.None);

    private static void AssertImage(JsonElement image, GenerationInput input, int promptIndex, int imageIndex)
    {
        var blob = RenderBatchInput.BlobName(input.BlobPrefix, promptIndex, imageIndex);
        Assert.StartsWith($"generations/{Id}/", blob, StringComparison.Ordinal);
        Assert.Equal(blob, image.GetProperty("blob").GetString());
        Assert.Equal($"https://store.example/images/{blob}?sig=test", image.GetProperty("url").GetString());
        Assert.Equal(input.Spec.ImageSeed(promptIndex, imageIndex), image.GetProperty("seed").GetInt64());
        Assert.Equal(promptIndex, image.GetProperty("prompt_index").GetInt32());
        Assert.Equal(imageIndex, image.GetProperty("image_index").GetInt32());
    }
}
