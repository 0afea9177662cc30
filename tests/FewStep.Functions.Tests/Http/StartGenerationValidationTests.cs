using System.Net;
using System.Text;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Triggers;
using Microsoft.Azure.Functions.Worker.Http;

namespace FewStep.Functions.Tests.Http;

/// <summary>
/// Every kind of bad request gets a 4xx <c>application/problem+json</c> naming the field, and nothing is scheduled.
/// </summary>
public sealed class StartGenerationValidationTests : IDisposable
{
    private readonly ApiHarness _api = ApiHarness.Create(o =>
    {
        o.MaxPromptLength = 50;
        o.MaxImagesPerRequest = 10;
        o.MaxPromptsPerRequest = 5;
    });

    public void Dispose() => _api.Dispose();

    public static TheoryData<string, string> BadBodies() => new()
    {
        // Not a request at all.
        { "{\"model\":\"tiny-sd-turbo\",\"prompt\":\"a fox\"", "body" },
        { """{"model":"tiny-sd-turbo",}""", "body" },
        { "", "body" },
        { "not json", "body" },
        { """[{"model":"tiny-sd-turbo","prompt":"a fox"}]""", "body" },
        { "42", "body" },
        { "\"a fox\"", "body" },
        { "null", "body" },

        // Fields.
        { """{"model":"tiny-sd-turbo","prompt":"a fox","steps":2}""", "steps" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","Prompt":"a cat"}""", "Prompt" },
        { """{"model":"no-such-model","prompt":"a fox"}""", "model" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","use_resolution_binning":true}""", "use_resolution_binning" },
        { """{"prompt":"a fox"}""", "model" },
        { """{"model":null,"prompt":"a fox"}""", "model" },
        { """{"model":7,"prompt":"a fox"}""", "model" },
        { """{"model":"tiny-sd-turbo"}""", "prompt" },
        { """{"model":"tiny-sd-turbo","prompt":null}""", "prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","prompts":["a cat"]}""", "prompts" },
        { """{"model":"tiny-sd-turbo","prompts":[]}""", "prompts" },
        { """{"model":"tiny-sd-turbo","prompts":"a fox,a cat"}""", "prompts" },
        { """{"model":"tiny-sd-turbo","prompts":{"0":"a fox"}}""", "prompts" },
        { """{"model":"tiny-sd-turbo","prompts":["a fox",3]}""", "prompts[1]" },
        { """{"model":"tiny-sd-turbo","prompts":["a fox",""]}""", "prompts[1]" },
        { """{"model":"tiny-sd-turbo","prompts":["a fox","  \t\n "]}""", "prompts[1]" },
        { """{"model":"tiny-sd-turbo","prompt":""}""", "prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"   "}""", "prompt" },
        { """{"model":"tiny-sd-turbo","prompt":42}""", "prompt" },
        { """{"model":"tiny-sd-turbo","prompts":["a","b","c","d","e","f"]}""", "prompts" },
        { $$"""{"model":"tiny-sd-turbo","prompt":"{{new string('x', 51)}}"}""", "prompt" },
        { $$"""{"model":"tiny-sd-turbo","prompts":["a fox","{{new string('x', 51)}}"]}""", "prompts[1]" },
        { """{"model":"tiny-sd-turbo","prompts":["a","b","c"],"num_images_per_prompt":4}""", "num_images_per_prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":11}""", "num_images_per_prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":0}""", "num_images_per_prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":-1}""", "num_images_per_prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":1.5}""", "num_images_per_prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","num_images_per_prompt":"2"}""", "num_images_per_prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","width":100}""", "width" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","height":60}""", "height" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","width":72}""", "width" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","height":40}""", "height" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","width":272}""", "width" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","height":4096}""", "height" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","width":0}""", "width" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","width":-64}""", "width" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","width":64.5}""", "width" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","width":99999999999}""", "width" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","num_inference_steps":0}""", "num_inference_steps" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","num_inference_steps":5}""", "num_inference_steps" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","num_inference_steps":"4"}""", "num_inference_steps" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","guidance_scale":-0.5}""", "guidance_scale" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","guidance_scale":10.5}""", "guidance_scale" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","guidance_scale":"high"}""", "guidance_scale" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","guidance_scale":1e300}""", "guidance_scale" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","guidance_scale":true}""", "guidance_scale" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","seed":"42"}""", "seed" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","seed":1.5}""", "seed" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","seed":-1}""", "seed" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","seed":1e30}""", "seed" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","seed":9223372036854775808}""", "seed" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","seed":18446744073709551616}""", "seed" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","seed":[1]}""", "seed" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"/hooks/done"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"hooks.example/done"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"ftp://hooks.example/done"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"http://example.com/done"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://user:pass@hooks.example/done"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"file:///etc/passwd"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":42}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","prompt_2":"oil painting"}""", "prompt_2" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","negative_prompt_2":"blurry"}""", "negative_prompt_2" },
        { """{"model":"tiny-lcm","prompt":"a fox","negative_prompt":"blurry"}""", "negative_prompt" },
        { """{"model":"tiny-sdxl-turbo","prompt":"a fox","prompt_2":""}""", "prompt_2" },
        { """{"model":"tiny-sdxl-turbo","prompts":["a fox","a cat","an owl"],"prompt_2":["x","y"]}""", "prompt_2" },
        { """{"model":"tiny-sd-turbo","prompts":["a fox","a cat"],"negative_prompt":[1,2]}""", "negative_prompt[0]" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","negative_prompt":7}""", "negative_prompt" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_request_is_a_400_problem_keyed_by_the_field_and_schedules_nothing(string json, string field)
    {
        var response = await _api.PostAsync(json);

        var errors = AssertProblem(response, HttpStatusCode.BadRequest);
        Assert.True(errors.ContainsKey(field), $"errors has no '{field}': {string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))}");
        Assert.All(errors.Values, messages => Assert.All(messages, m => Assert.False(string.IsNullOrWhiteSpace(m))));
        _api.VerifyNothingScheduled();
    }

    [Fact]
    public async Task Every_bad_field_is_reported_at_once()
    {
        var response = await _api.PostAsync("""
            {"model":"tiny-sd-turbo","prompt":"a fox","width":100,"height":100,"num_inference_steps":9,"guidance_scale":"high","seed":-1,"colour":"red"}
            """);

        var errors = AssertProblem(response, HttpStatusCode.BadRequest);
        Assert.Equal(["colour", "guidance_scale", "height", "num_inference_steps", "seed", "width"], errors.Keys.Order(StringComparer.Ordinal));
        _api.VerifyNothingScheduled();
    }

    [Fact]
    public async Task Malformed_json_says_where()
    {
        var response = await _api.PostAsync("{\n  \"model\": \"tiny-sd-turbo\",\n  \"prompt\": \"a fox\" oops\n}");

        var errors = AssertProblem(response, HttpStatusCode.BadRequest);
        Assert.Contains("line 3", Assert.Single(errors["body"]), StringComparison.Ordinal);
        _api.VerifyNothingScheduled();
    }

    [Fact]
    public async Task Width_must_be_a_multiple_of_the_models_size_multiple_not_just_8()
    {
        // 72 is a multiple of 8 but not of 16 (VAE factor 8 × two UNet down-sampling levels in the tiny models).
        var response = await _api.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","width":72}""");

        var errors = AssertProblem(response, HttpStatusCode.BadRequest);
        Assert.Contains("16", Assert.Single(errors["width"]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Service_wide_size_cap_applies_on_top_of_the_models_own()
    {
        using var api = ApiHarness.Create(o => o.MaxWidth = 128);

        var response = await api.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","width":144}""");

        Assert.Contains("width", AssertProblem(response, HttpStatusCode.BadRequest).Keys);
        api.VerifyNothingScheduled();
    }

    [Theory]
    [InlineData(257)]
    [InlineData(1000)]
    public async Task Idempotency_key_longer_than_256_characters_is_refused(int length)
    {
        var response = await _api.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""", new string('k', length));

        Assert.Contains(GenerationsApi.IdempotencyKeyHeader, AssertProblem(response, HttpStatusCode.BadRequest).Keys);
        _api.VerifyNothingScheduled();
    }

    [Theory]
    [InlineData("key\u0001one")]
    [InlineData("key\tone")]
    [InlineData("key\u007Fone")]
    [InlineData("ключ")]
    [InlineData("")]
    public async Task Idempotency_key_with_control_or_non_ascii_characters_is_refused(string key)
    {
        var request = TestHttpRequest.Post("""{"model":"tiny-sd-turbo","prompt":"a fox"}""", ApiHarness.GenerationsUrl);
        Assert.True(request.Headers.TryAddWithoutValidation(GenerationsApi.IdempotencyKeyHeader, key));

        var response = await _api.PostAsync(request);

        Assert.Contains(GenerationsApi.IdempotencyKeyHeader, AssertProblem(response, HttpStatusCode.BadRequest).Keys);
        _api.VerifyNothingScheduled();
    }

    [Fact]
    public async Task Body_over_the_limit_is_413()
    {
        using var api = ApiHarness.Create(o => o.MaxRequestBytes = 2048);
        var json = $$"""{"model":"tiny-sd-turbo","prompt":"{{new string('x', 2100)}}"}""";

        var response = await api.PostAsync(json);

        AssertProblem(response, HttpStatusCode.RequestEntityTooLarge);
        api.VerifyNothingScheduled();
    }

    [Fact]
    public async Task Body_one_byte_over_the_limit_is_413()
    {
        using var api = ApiHarness.Create(o => o.MaxRequestBytes = 2048);
        var json = """{"model":"tiny-sd-turbo","prompt":"a fox"}""";
        json = json.Insert(json.Length - 1, new string(' ', 2049 - json.Length));
        Assert.Equal(2049, Encoding.UTF8.GetByteCount(json));

        var response = await api.PostAsync(json);

        AssertProblem(response, HttpStatusCode.RequestEntityTooLarge);
        api.VerifyNothingScheduled();
    }

    [Fact]
    public async Task Declared_content_length_over_the_limit_is_413_without_reading_the_body()
    {
        using var api = ApiHarness.Create(o => o.MaxRequestBytes = 2048);
        var request = TestHttpRequest.Post("""{"model":"tiny-sd-turbo","prompt":"a fox"}""", ApiHarness.GenerationsUrl);
        request.Headers.Add("Content-Length", "1000000");

        var response = await api.PostAsync(request);

        AssertProblem(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(0, request.Body.Position);
        api.VerifyNothingScheduled();
    }

    [Fact]
    public async Task Model_in_the_catalog_but_not_installed_is_503()
    {
        var response = await _api.PostAsync($$"""{"model":"{{ApiHarness.MissingModel}}","prompt":"a fox"}""");

        var errors = AssertProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("model", errors.Keys);
        _api.VerifyNothingScheduled();
    }

    [Fact]
    public async Task Built_in_model_without_its_folder_is_503_too()
    {
        var response = await _api.PostAsync("""{"model":"sd-turbo","prompt":"a fox"}""");

        AssertProblem(response, HttpStatusCode.ServiceUnavailable);
        _api.VerifyNothingScheduled();
    }

    internal static Dictionary<string, string[]> AssertProblem(HttpResponseData response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.StartsWith("application/problem+json", response.Header("Content-Type"), StringComparison.Ordinal);
        var body = response.ReadJson();
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("type").GetString()));
        return response.ProblemErrors();
    }
}
