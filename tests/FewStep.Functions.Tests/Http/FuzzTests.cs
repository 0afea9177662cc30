using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Validation;

namespace FewStep.Functions.Tests.Http;

/// <summary>The app for the fuzz tests: small limits, loopback webhooks allowed, one known webhook name.</summary>
public sealed class FuzzApp : IAsyncLifetime
{
    internal TestApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await TestApp.StartAsync(o =>
    {
        o.Settings["FewStep:MaxRequestBytes"] = "4096";
        o.Settings["FewStep:MaxImagesPerRequest"] = "64";
        o.Settings["FewStep:MaxPromptLength"] = "100";
        o.Settings["FewStep:AllowLoopbackWebhooks"] = "true";
        o.Resolver = new MapResolver().Map("hooks.example", "93.184.216.34");
    });

    public async Task DisposeAsync() => await App.DisposeAsync();
}

/// <summary>
/// Nothing a client sends produces a 500: random JSON shapes and values for each field (seeded, so a failure
/// repeats; strings include unpaired surrogates and NULs) always give 202, 400, 413 or 503 through the real
/// HTTP pipeline.
/// </summary>
public sealed class FuzzTests : IClassFixture<FuzzApp>
{
    private const int BodiesPerCase = 40;

    private static readonly string[] s_models = ["tiny-sd-turbo", "tiny-sdxl-turbo", "tiny-lcm", TestApp.MissingModel, "sd-turbo", "nope", "", "TINY-LCM"];

    private readonly TestApp _app;

    public FuzzTests(FuzzApp fixture) => _app = fixture.App;

    public static TheoryData<string> Fields() => new(GenerationRequestParser.Fields.Order(StringComparer.Ordinal).Append("unknown_field"));

    [Theory]
    [MemberData(nameof(Fields))]
    public async Task Random_values_for_one_field_never_give_a_500(string field)
    {
        var random = new Random(field.Sum(c => c) * 31);
        for (var i = 0; i < BodiesPerCase; i++)
        {
            var body = new JsonObject { ["model"] = "tiny-sd-turbo", ["prompt"] = "a fox" };
            body[field] = RandomValue(random, field, depth: 0);
            (await AssertNoServerError(Encoding.UTF8.GetBytes(body.ToJsonString()))).Dispose();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Random_request_shapes_never_give_a_500(int seed)
    {
        var random = new Random(seed);
        var fields = GenerationRequestParser.Fields.Order(StringComparer.Ordinal).ToArray();
        for (var i = 0; i < BodiesPerCase; i++)
        {
            var body = new JsonObject();
            foreach (var field in fields.Where(_ => random.Next(3) > 0))
            {
                body[field] = random.Next(3) == 0 ? RandomJson(random, 0) : RandomValue(random, field, 0);
            }

            if (random.Next(5) == 0)
            {
                body[RandomString(random, 1, 8)] = RandomJson(random, 0);
            }

            JsonNode? root = random.Next(10) switch
            {
                0 => new JsonArray(body),
                1 => RandomJson(random, 0),
                _ => body,
            };
            var json = root?.ToJsonString() ?? "null";
            (await AssertNoServerError(Encoding.UTF8.GetBytes(json))).Dispose();
            if (json.Length > 2)
            {
                (await AssertNoServerError(Encoding.UTF8.GetBytes(json[..random.Next(1, json.Length)]))).Dispose();
            }
        }
    }

    [Theory]
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}' })]
    [InlineData(new byte[] { 0x00, 0x00, 0x00 })]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    public async Task Raw_bytes_never_give_a_500(byte[] body) => (await AssertNoServerError(body)).Dispose();

    [Theory]
    [InlineData("prompt")]
    [InlineData("model")]
    [InlineData("webhook_url")]
    [InlineData("negative_prompt")]
    public async Task Invalid_utf8_inside_a_string_value_is_a_400(string field)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"model":"tiny-sd-turbo","prompt":"a fox","{{field}}":"a _ fox"}""");
        var hole = Array.LastIndexOf(body, (byte)'_');
        body = [.. body[..hole], 0xFF, 0xC0, .. body[(hole + 1)..]];

        using var response = await AssertNoServerError(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Deep_nesting_is_a_400()
    {
        var json = $$"""{"model":"tiny-sd-turbo","prompt":"a fox","seed":{{new string('[', 200)}}{{new string(']', 200)}}}""";

        using var response = await AssertNoServerError(Encoding.UTF8.GetBytes(json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private async Task<HttpResponseMessage> AssertNoServerError(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var response = await _app.Http.PostAsync("api/generations", content);
        var answer = await response.Content.ReadAsStringAsync();
        Assert.True(
            response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.ServiceUnavailable,
            $"status {(int)response.StatusCode} for body: {text}\nanswer: {answer}");
        Assert.Equal(response.StatusCode == HttpStatusCode.Accepted ? "application/json" : "application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return response;
    }

    // Values of roughly the right kind for the field (so validation gets past the type checks), or anything at all.
    private static JsonNode? RandomValue(Random random, string field, int depth)
    {
        if (random.Next(4) == 0)
        {
            return RandomJson(random, depth);
        }

        return field switch
        {
            "model" => s_models[random.Next(s_models.Length)],
            "prompt" or "prompt_2" or "negative_prompt" or "negative_prompt_2" or "prompts" => random.Next(2) == 0
                ? RandomText(random)
                : new JsonArray(Enumerable.Range(0, random.Next(0, 12)).Select(_ => (JsonNode?)RandomText(random)).ToArray()),
            "num_inference_steps" or "num_images_per_prompt" => RandomNumber(random, small: true),
            "width" or "height" => random.Next(2) == 0 ? random.Next(-2, 40) * 16 : RandomNumber(random, small: false),
            "guidance_scale" => random.Next(2) == 0 ? Math.Round((random.NextDouble() * 30) - 5, 2) : RandomNumber(random, small: false),
            "seed" => RandomNumber(random, small: false),
            "webhook_url" => RandomUrl(random),
            _ => RandomJson(random, depth),
        };
    }

    private static JsonNode? RandomJson(Random random, int depth) => random.Next(depth > 2 ? 6 : 8) switch
    {
        0 => null,
        1 => random.Next(2) == 0,
        2 => RandomNumber(random, small: random.Next(2) == 0),
        3 => RandomString(random, 0, 20),
        4 => RandomText(random),
        5 => JsonValue.Create(random.NextDouble() * Math.Pow(10, random.Next(-10, 300))),
        6 => new JsonArray(Enumerable.Range(0, random.Next(0, 4)).Select(_ => RandomJson(random, depth + 1)).ToArray()),
        _ => new JsonObject(Enumerable.Range(0, random.Next(0, 4))
            .Select(k => KeyValuePair.Create($"k{k}", RandomJson(random, depth + 1)))),
    };

    private static JsonNode RandomNumber(Random random, bool small)
    {
        var raw = random.Next(small ? 6 : 12) switch
        {
            0 => random.Next(-3, 12).ToString(CultureInfo.InvariantCulture),
            1 => "0",
            2 => "-1",
            3 => "1.5",
            4 => "1e3",
            5 => int.MaxValue.ToString(CultureInfo.InvariantCulture),
            6 => long.MaxValue.ToString(CultureInfo.InvariantCulture),
            7 => "9223372036854775808",
            8 => "18446744073709551616",
            9 => "1e308",
            10 => "-0.0",
            _ => random.NextInt64().ToString(CultureInfo.InvariantCulture),
        };
        return JsonNode.Parse(raw)!;
    }

    private static JsonNode RandomText(Random random) => random.Next(6) switch
    {
        0 => "",
        1 => "   ",
        2 => new string('x', random.Next(90, 120)),
        3 => "a fox \u00e9\u4e2d\U0001F98A\u200b\t",
        _ => RandomString(random, 1, 30),
    };

    private static string RandomString(Random random, int min, int max)
    {
        var chars = new char[random.Next(min, max)];
        for (var i = 0; i < chars.Length; i++)
        {
            // Any UTF-16 unit now and then, unpaired surrogates and NUL included (written as \uXXXX escapes).
            chars[i] = random.Next(10) == 0 ? (char)random.Next(0, 0x10000) : (char)random.Next(' ', '~' + 1);
        }

        return new string(chars);
    }

    private static JsonNode RandomUrl(Random random) => random.Next(12) switch
    {
        0 => "https://hooks.example/done",
        1 => "http://127.0.0.1:9/hook",
        2 => "http://[::1]:8080/hook",
        3 => "https://user:pass@hooks.example/",
        4 => "ftp://hooks.example/",
        5 => "http://example.com/",
        6 => "//hooks.example/done",
        7 => "https://",
        8 => "https://xn--nxasmq6b.example/\u00e9",
        9 => "https://hooks.example:99999/",
        10 => "mailto:someone@example.com",
        _ => RandomString(random, 0, 40),
    };
}
