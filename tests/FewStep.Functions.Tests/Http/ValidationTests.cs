using System.Net;
using System.Text;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Triggers;

namespace FewStep.Functions.Tests.Http;

/// <summary>The app for the validation tests: small limits, and a resolver that knows a few webhook names.</summary>
public sealed class ValidationApp : IAsyncLifetime
{
    internal TestApp App { get; private set; } = null!;

    internal static MapResolver Resolver() => new MapResolver()
        .Map("hooks.example", "93.184.216.34")
        .Map("intranet.example", "10.1.2.3")
        .Map("rebind.example", "93.184.216.34", "192.168.1.20");

    public async Task InitializeAsync() => App = await TestApp.StartAsync(o =>
    {
        o.Settings["FewStep:MaxPromptLength"] = "50";
        o.Settings["FewStep:MaxImagesPerRequest"] = "10";
        o.Settings["FewStep:MaxPromptsPerRequest"] = "5";
        o.Resolver = Resolver();
    });

    public async Task DisposeAsync() => await App.DisposeAsync();
}

/// <summary>
/// Every kind of bad request gets a 4xx <c>application/problem+json</c> naming the field, through the real HTTP
/// pipeline, and nothing is started.
/// </summary>
public sealed class ValidationTests : IClassFixture<ValidationApp>
{
    private readonly TestApp _app;

    public ValidationTests(ValidationApp fixture) => _app = fixture.App;

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
        { """{"model":"tiny-sdxl-turbo","prompts":["a fox","a cat"],"prompt_2":["oil painting"]}""", "prompt_2" },
        { """{"model":"tiny-sd-turbo","prompts":["a fox","a cat"],"negative_prompt":["blurry"]}""", "negative_prompt" },

        // Duplicate names, case, NUL, unpaired surrogate escapes in every string field and in names.
        { """{"model":"tiny-sd-turbo","prompt":"a fox","prompt":"a cat"}""", "prompt" },
        { """{"model":"tiny-sd-turbo","model":"tiny-lcm","prompt":"a fox"}""", "model" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","seed":1,"seed":2}""", "seed" },
        { """{"model":"TINY-SD-TURBO","prompt":"a fox"}""", "model" },
        { """{"model":"Tiny-Sd-Turbo","prompt":"a fox"}""", "model" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox\u0000 in snow"}""", "prompt" },
        { """{"model":"tiny-sd-turbo","prompts":["a fox","a cat\u0000"]}""", "prompts[1]" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","negative_prompt":"\u0000"}""", "negative_prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"\ud800"}""", "prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox \udfff tail"}""", "prompt" },
        { """{"model":"\ud800","prompt":"a fox"}""", "model" },
        { """{"model":"tiny-sd-turbo","prompts":["a fox","\ud83d"]}""", "prompts[1]" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","negative_prompt":"\udc00\ud800"}""", "negative_prompt" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","negative_prompt":["\ud800"]}""", "negative_prompt[0]" },
        { """{"model":"tiny-sdxl-turbo","prompt":"a fox","prompt_2":"\ud800"}""", "prompt_2" },
        { """{"model":"tiny-sdxl-turbo","prompt":"a fox","negative_prompt_2":"\ud800"}""", "negative_prompt_2" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://hooks.example/\ud800"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","\ud800":1}""", "body" },

        // Webhooks to addresses that are not public (SSRF), by literal and by name.
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://10.0.0.1/hook"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://169.254.169.254/latest/meta-data"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://[fd00::1]/hook"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://[::ffff:10.1.2.3]/hook"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://metadata.google.internal/computeMetadata/v1/"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://168.63.129.16/"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://intranet.example/hook"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://rebind.example/hook"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://unknown.example/hook"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"http://127.0.0.1:9/hook"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://localhost/hook"}""", "webhook_url" },
        { """{"model":"tiny-sd-turbo","prompts":["a fox","a cat"],"negative_prompt":[1,2]}""", "negative_prompt[0]" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","negative_prompt":7}""", "negative_prompt" },

        // LoRAs are names of installed files, never paths, and must fit the model; scheduler replacements are checked.
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":"sd_kohya_unet_locon"}""", "loras" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":["sd_kohya_unet_locon"]}""", "loras[0]" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"scale":1}]}""", "loras[0].name" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"../../etc/passwd"}]}""", "loras[0].name" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"/etc/passwd"}]}""", "loras[0].name" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"..\\..\\secret"}]}""", "loras[0].name" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":".hidden"}]}""", "loras[0].name" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"no-such-lora"}]}""", "loras[0].name" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":7}]}""", "loras[0].name" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"sd_kohya_unet_locon","scale":"1"}]}""", "loras[0].scale" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"sd_kohya_unet_locon","scale":100}]}""", "loras[0].scale" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"sd_kohya_unet_locon","weight":1}]}""", "loras[0].weight" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"sd_kohya_unet_locon"},{"name":"sd_kohya_unet_locon","scale":0.5}]}""", "loras[1].name" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d"},{"name":"e"}]}""", "loras" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","loras":[{"name":"sdxl_peft_unet_r8"}]}""", "loras[0].name" },
        { """{"model":"tiny-sdxl-turbo","prompt":"a fox","loras":[{"name":"sd_kohya_unet_te"}]}""", "loras[0].name" },
        { """{"model":"tiny-sd-turbo-lcm-lora","prompt":"a fox","loras":[{"name":"sd_lcm_lora_diffusers_fp16"}]}""", "loras[0].name" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","scheduler":"LCMScheduler"}""", "scheduler" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","scheduler":{"_class_name":"DDIMScheduler"}}""", "scheduler" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","scheduler":{"timestep_spacing":"leading"}}""", "scheduler" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","scheduler":{"_class_name":"LCMScheduler","karras":true}}""", "scheduler.karras" },
        { """{"model":"tiny-sd-turbo","prompt":"a fox","scheduler":{"_class_name":"EulerDiscreteScheduler","prediction_type":"noise"}}""", "scheduler" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_request_is_a_400_problem_keyed_by_the_field_and_starts_nothing(string json, string field)
    {
        var before = await _app.CountRunsAsync();

        using var response = await _app.PostAsync(json);

        var errors = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(errors.ContainsKey(field), $"errors has no '{field}': {string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))}");
        Assert.All(errors.Values, messages => Assert.All(messages, m => Assert.False(string.IsNullOrWhiteSpace(m))));
        Assert.Equal(before, await _app.CountRunsAsync());
    }

    [Fact]
    public async Task Every_bad_field_is_reported_at_once()
    {
        using var response = await _app.PostAsync("""
            {"model":"tiny-sd-turbo","prompt":"a fox","width":100,"height":100,"num_inference_steps":9,"guidance_scale":"high","seed":-1,"colour":"red"}
            """);

        var errors = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(["colour", "guidance_scale", "height", "num_inference_steps", "seed", "width"], errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Malformed_json_says_where()
    {
        using var response = await _app.PostAsync("{\n  \"model\": \"tiny-sd-turbo\",\n  \"prompt\": \"a fox\" oops\n}");

        var errors = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("line 3", Assert.Single(errors["body"]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_name_in_the_wrong_case_names_the_right_one()
    {
        using var response = await _app.PostAsync("""{"model":"Tiny-SD-Turbo","prompt":"a fox"}""");

        var message = Assert.Single((await AssertProblemAsync(response, HttpStatusCode.BadRequest))["model"]);
        Assert.Contains("case-sensitive", message, StringComparison.Ordinal);
        Assert.Contains("'tiny-sd-turbo'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_private_webhook_address_is_named_in_the_error()
    {
        using var response = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","webhook_url":"https://intranet.example/hook"}""");

        var message = Assert.Single((await AssertProblemAsync(response, HttpStatusCode.BadRequest))["webhook_url"]);
        Assert.Contains("10.1.2.3", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Width_must_be_a_multiple_of_the_models_size_multiple_not_just_8()
    {
        // 72 is a multiple of 8 but not of 16 (VAE factor 8 × two UNet down-sampling levels in the tiny models).
        using var response = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox","width":72}""");

        var errors = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("16", Assert.Single(errors["width"]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(257)]
    [InlineData(1000)]
    public async Task Idempotency_key_longer_than_256_characters_is_refused(int length)
    {
        using var response = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""", new string('k', length));

        Assert.Contains(GenerationsApi.IdempotencyKeyHeader, (await AssertProblemAsync(response, HttpStatusCode.BadRequest)).Keys);
    }

    [Theory]
    [InlineData("key\tone")]
    [InlineData("")]
    public async Task Idempotency_key_with_control_characters_or_empty_is_refused(string key)
    {
        using var response = await _app.PostAsync("""{"model":"tiny-sd-turbo","prompt":"a fox"}""", key);

        Assert.Contains(GenerationsApi.IdempotencyKeyHeader, (await AssertProblemAsync(response, HttpStatusCode.BadRequest)).Keys);
    }

    [Fact]
    public async Task Model_in_the_catalog_but_not_installed_is_503()
    {
        using var response = await _app.PostAsync($$"""{"model":"{{TestApp.MissingModel}}","prompt":"a fox"}""");

        Assert.Contains("model", (await AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable)).Keys);
    }

    [Fact]
    public async Task Built_in_model_without_its_folder_is_503_too()
    {
        using var response = await _app.PostAsync("""{"model":"sd-turbo","prompt":"a fox"}""");

        await AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable);
    }

    internal static async Task<Dictionary<string, string[]>> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = System.Text.Json.JsonDocument.Parse(text);
        var body = document.RootElement;
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("type").GetString()));
        return body.TryGetProperty("errors", out var errors)
            ? errors.EnumerateObject().ToDictionary(e => e.Name, e => e.Value.EnumerateArray().Select(m => m.GetString()!).ToArray(), StringComparer.Ordinal)
            : [];
    }
}
