using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FewStep.Functions.Cancellation;
using FewStep.Functions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FewStep.Functions.Tests.OpenAi;

/// <summary>
/// <c>POST /api/v1/images/generations</c> and <c>GET /api/v1/models</c> over HTTP through the real pipeline: the key
/// judged by the host's function-level key check (the test host demands keys as the Functions host does), OpenAI's
/// request fields translated or refused naming <c>param</c>, the answer waited for, and errors in OpenAI's shape.
/// </summary>
public sealed class OpenAiImagesApiTests : IAsyncLifetime, IDisposable
{
    private const string Key = "test-function-key";
    private const string Images = "api/v1/images/generations";

    private TestApp _app = null!;

    // A client of its own, without the function key the app's client sends on every request.
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _app = await TestApp.StartAsync(o =>
        {
            o.FunctionKeys = [Key, "second-key"];
            o.Settings["FewStep:OpenAiMaxImages"] = "4";
            o.Settings["FewStep:MaxImagesPerRequest"] = "8";
            o.Settings["FewStep:MaxQueuedImages"] = "8";
            o.Settings["FewStep:QueueFullRetryAfter"] = "00:00:05";
        });
        _http = new HttpClient { BaseAddress = _app.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task A_request_waits_for_its_images_and_answers_in_openai_shape_with_urls()
    {
        using var response = await PostAsync("""{"model":"tiny-sd-turbo","prompt":"a red fox","n":2,"size":"64x64","seed":7,"user":"alice"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.InRange(root.GetProperty("created").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Equal("png", root.GetProperty("output_format").GetString());
        Assert.Equal("64x64", root.GetProperty("size").GetString());
        var data = root.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(2, data.Length);
        Assert.All(data, d => Assert.False(d.TryGetProperty("b64_json", out _)));
        Assert.All(data, d => Assert.StartsWith("http", d.GetProperty("url").GetString(), StringComparison.Ordinal));

        // The same generation as POST /api/generations makes: prompt 0, images 0 and 1, seeds 7 and 8.
        var job = Assert.Single(_app.Fake!.Jobs.Snapshot());
        Assert.Equal([7L, 8L], job.Items.Select(i => i.Seed));
        Assert.Equal(64, job.Width);
    }

    [Fact]
    public async Task B64_json_carries_the_stored_png_bytes()
    {
        using var response = await PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","response_format":"b64_json","seed":3}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var image = Assert.Single(body.RootElement.GetProperty("data").EnumerateArray().ToArray());
        Assert.False(image.TryGetProperty("url", out _));
        Assert.Equal("png 0-0 seed 3", Encoding.UTF8.GetString(Convert.FromBase64String(image.GetProperty("b64_json").GetString()!)));
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("x-functions-key")]
    [InlineData("code")]
    public async Task The_key_is_accepted_as_bearer_header_or_code(string how)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, how == "code" ? "api/v1/models?code=second-key" : "api/v1/models");
        if (how == "Bearer")
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "second-key");
        }
        else if (how == "x-functions-key")
        {
            request.Headers.Add("x-functions-key", "second-key");
        }

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(null, "No API key was given")]
    [InlineData("wrong-key", "Incorrect API key")]
    [InlineData("has space", "not a function key")]
    public async Task A_missing_or_wrong_key_is_a_401_in_openai_shape(string? key, string message)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Images) { Content = Json("""{"prompt":"a fox","model":"tiny-sd-turbo"}""") };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + key);
        }

        using var response = await _http.SendAsync(request);

        var error = await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_request_error", null, "invalid_api_key");
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(_app.Fake!.Jobs.Snapshot());
    }

    [Fact]
    public async Task The_models_list_holds_the_installed_catalog_models_only()
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, "api/v1/models"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("list", body.RootElement.GetProperty("object").GetString());
        var models = body.RootElement.GetProperty("data").EnumerateArray().ToArray();
        var ids = models.Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains(TestApp.Model, ids);
        Assert.Contains(TestApp.LcmModel, ids);
        Assert.DoesNotContain(TestApp.MissingModel, ids);
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.All(models, m =>
        {
            Assert.Equal("model", m.GetProperty("object").GetString());
            Assert.True(m.GetProperty("created").GetInt64() > 1_500_000_000);
            Assert.False(string.IsNullOrEmpty(m.GetProperty("owned_by").GetString()));
        });
    }

    [Theory]
    [InlineData("""{"prompt":"a fox","model":"dall-e-3"}""", HttpStatusCode.NotFound, "model", "model_not_found", "does not exist")]
    [InlineData("""{"prompt":"a fox","model":"not-installed"}""", HttpStatusCode.NotFound, "model", "model_not_found", "not installed")]
    [InlineData("""{"prompt":"a fox"}""", HttpStatusCode.BadRequest, "model", null, "no default model")]
    [InlineData("""{"model":"tiny-sd-turbo"}""", HttpStatusCode.BadRequest, "prompt", null, "prompt is required")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":["a","b"]}""", HttpStatusCode.BadRequest, "prompt", null, "must be a string")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"  "}""", HttpStatusCode.BadRequest, "prompt", null, "is empty")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","size":"512x512"}""", HttpStatusCode.BadRequest, "size", null, "width")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","size":"big"}""", HttpStatusCode.BadRequest, "size", null, "WIDTHxHEIGHT")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","n":0}""", HttpStatusCode.BadRequest, "n", null, "1 to 4")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","n":5}""", HttpStatusCode.BadRequest, "n", null, "1 to 4")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","n":"2"}""", HttpStatusCode.BadRequest, "n", null, "integer")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","response_format":"xml"}""", HttpStatusCode.BadRequest, "response_format", null, "'url' or 'b64_json'")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","quality":"hd"}""", HttpStatusCode.BadRequest, "quality", null, "cannot be honoured")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","style":"natural"}""", HttpStatusCode.BadRequest, "style", null, "cannot be honoured")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","background":"transparent"}""", HttpStatusCode.BadRequest, "background", null, "opaque")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","output_format":"jpeg"}""", HttpStatusCode.BadRequest, "output_format", null, "PNG")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","output_compression":80}""", HttpStatusCode.BadRequest, "output_compression", null, "PNG")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","stream":true}""", HttpStatusCode.BadRequest, "stream", null, "not supported")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","partial_images":2}""", HttpStatusCode.BadRequest, "partial_images", null, "streaming")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","temperature":1}""", HttpStatusCode.BadRequest, "temperature", null, "Unrecognized request argument")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","prompt":"a cat"}""", HttpStatusCode.BadRequest, "prompt", null, "more than once")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","num_inference_steps":9}""", HttpStatusCode.BadRequest, "num_inference_steps", null, "1 to 4 steps")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","seed":"x"}""", HttpStatusCode.BadRequest, "seed", null, "seed")]
    [InlineData("""{"model":"tiny-sd-turbo","prompt":"a fox","guidance_scale":99}""", HttpStatusCode.BadRequest, "guidance_scale", null, "0 to 10")]
    [InlineData("""[1]""", HttpStatusCode.BadRequest, "body", null, "JSON object")]
    [InlineData("""{"prompt":""", HttpStatusCode.BadRequest, "body", null, "not valid JSON")]
    public async Task Bad_requests_get_openai_errors_naming_the_param(string json, HttpStatusCode status, string param, string? code, string message)
    {
        using var response = await PostAsync(json);

        var error = await AssertErrorAsync(response, status, "invalid_request_error", param, code);
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(_app.Fake!.Jobs.Snapshot());
    }

    [Fact]
    public async Task Openai_options_at_values_fewstep_honours_are_accepted()
    {
        using var response = await PostAsync("""
            {"model":"tiny-sd-turbo","prompt":"a fox","size":"auto","quality":"auto","style":"vivid","background":"opaque",
             "output_format":"png","output_compression":100,"moderation":"low","stream":false,"partial_images":0,"response_format":"url",
             "negative_prompt":"blurry","num_inference_steps":2,"guidance_scale":0}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var job = Assert.Single(_app.Fake!.Jobs.Snapshot());
        Assert.Equal(2, job.NumInferenceSteps);
    }

    [Fact]
    public async Task Prefer_respond_async_answers_202_with_the_status_url_and_the_generation_runs_on()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Images) { Content = Json("""{"model":"tiny-sd-turbo","prompt":"a fox","seed":11}""") };
        request.Headers.Add("Prefer", "respond-async");

        using var response = await SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var id = body.RootElement.GetProperty("id").GetString()!;
        Assert.Equal(11, body.RootElement.GetProperty("seed").GetInt64());
        Assert.Equal(body.RootElement.GetProperty("status_url").GetString(), response.Headers.Location!.AbsoluteUri);
        Assert.EndsWith($"/api/generations/{id}", response.Headers.Location.AbsoluteUri, StringComparison.Ordinal);
        var status = await _app.WaitForEndAsync(id);
        Assert.Equal("succeeded", status.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Past_the_wait_the_answer_is_202_and_a_short_prefer_wait_is_honoured()
    {
        var gate = new TaskCompletionSource();
        _app.Fake!.Gate = gate.Task;
        using var request = new HttpRequestMessage(HttpMethod.Post, Images) { Content = Json("""{"model":"tiny-sd-turbo","prompt":"a fox"}""") };
        request.Headers.Add("Prefer", "wait=1");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var response = await SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20));
        Assert.NotNull(response.Headers.Location);
        gate.SetResult();
    }

    [Fact]
    public async Task A_caller_that_hangs_up_cancels_its_generation()
    {
        _app.Fake!.Gate = new TaskCompletionSource().Task;
        using var request = new HttpRequestMessage(HttpMethod.Post, Images) { Content = Json("""{"model":"tiny-sd-turbo","prompt":"a fox"}""") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        request.Headers.Add("Idempotency-Key", "hang-up");
        using var hangUp = new CancellationTokenSource();
        var sending = _http.SendAsync(request, hangUp.Token);
        await TestApp.EventuallyAsync(() => Task.FromResult(_app.Fake.Jobs.Count > 0), TimeSpan.FromSeconds(30), "the batch to start");

        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        var id = FewStep.Functions.Triggers.GenerationStarter.IdFromKey("hang-up");
        var cancellation = _app.Services.GetRequiredService<RunCancellation>();
        await TestApp.EventuallyAsync(() => cancellation.IsRequestedAsync(id, CancellationToken.None), TimeSpan.FromSeconds(30), "the generation to be canceled");
        var status = await _app.WaitForEndAsync(id);
        Assert.Equal("canceled", status.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_full_queue_is_a_429_rate_limit_error_with_retry_after()
    {
        _app.Fake!.Gate = new TaskCompletionSource().Task;
        using var first = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":8}""");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        await Task.Delay(_app.Options.QueueStatsMaxAge * 2);

        using var response = await PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""");

        await AssertErrorAsync(response, HttpStatusCode.TooManyRequests, "requests", null, "rate_limit_exceeded");
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task A_failed_render_is_a_500_server_error()
    {
        _app.Fake!.Failure = () => new InvalidOperationException("the GPU caught fire");

        using var response = await PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""");

        await AssertErrorAsync(response, HttpStatusCode.InternalServerError, "server_error", null, null, anyCode: true);
    }

    internal static async Task<JsonElement> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type, string? param, string? code, bool anyCode = false)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(text);
        var error = body.RootElement.GetProperty("error").Clone();
        Assert.Single(body.RootElement.EnumerateObject());
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        if (!anyCode)
        {
            Assert.Equal(code, error.GetProperty("code").GetString());
        }

        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        return error;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private Task<HttpResponseMessage> PostAsync(string json) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, Images) { Content = Json(json) });

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        using (request)
        {
            request.Headers.Authorization ??= new AuthenticationHeaderValue("Bearer", Key);
            return await _http.SendAsync(request);
        }
    }
}
