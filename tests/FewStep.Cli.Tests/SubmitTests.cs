using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FewStep.Cli.Infrastructure;
using FewStep.Cli.Submit;

namespace FewStep.Cli.Tests;

/// <summary><c>fewstep submit</c> against a fake FewStep Functions app on 127.0.0.1.</summary>
public sealed class SubmitTests : IDisposable
{
    private const string Key = "test-function-key";
    private static readonly byte[] s_png0 = [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3];
    private static readonly byte[] s_png1 = [0x89, (byte)'P', (byte)'N', (byte)'G', 4, 5, 6, 7];
    private readonly TempFolder _temp = new();
    private readonly CliRunner _cli = new();
    private readonly LocalServer _server;
    private int _polls;

    public SubmitTests() => _server = new LocalServer(HandleAsync);

    public bool RejectRequests { get; set; }

    public void Dispose()
    {
        _server.Dispose();
        _cli.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Submit_posts_polls_until_succeeded_and_downloads_the_images()
    {
        var job = _temp.Combine("job.json");
        await File.WriteAllTextAsync(job, """{"model": "sd-turbo", "prompt": "a red fox", "num_images_per_prompt": 2, "seed": 42}""");
        var outDir = _temp.Combine("out");

        var result = await _cli.RunAsync("submit", job, "--endpoint", _server.BaseUri.ToString(), "--key", Key, "--out", outDir, "--poll-interval", "0.02");

        Assert.True(result.ExitCode == 0, result.Error + result.Console);
        var first = Path.Combine(outDir, "gen-1", "0-0.png");
        var second = Path.Combine(outDir, "gen-1", "0-1.png");
        Assert.Equal([Path.GetFullPath(first), Path.GetFullPath(second)], result.OutLines);
        Assert.Equal(s_png0, await File.ReadAllBytesAsync(first));
        Assert.Equal(s_png1, await File.ReadAllBytesAsync(second));
        Assert.Contains("gen-1", result.Console, StringComparison.Ordinal);

        var requests = _server.Requests.ToArray();
        var post = Assert.Single(requests, r => r.Method == "POST");
        Assert.Equal("/api/generations", post.PathAndQuery);
        Assert.Equal(Key, post.FunctionsKey);
        var body = JsonNode.Parse(post.Body)!;
        Assert.Equal("a red fox", (string?)body["prompt"]);
        Assert.Equal(2, (int?)body["num_images_per_prompt"]);
        Assert.True(requests.Count(r => r.PathAndQuery == "/api/generations/gen-1") >= 3);
    }

    [Fact]
    public async Task A_400_problem_answer_prints_title_detail_and_field_errors_in_one_line()
    {
        RejectRequests = true;
        var job = _temp.Combine("job.jsonl");
        await File.WriteAllTextAsync(job, "{\"model\": \"sd-turbo\", \"prompt\": \"\"}\n");

        var result = await _cli.RunAsync("submit", job, "--endpoint", _server.BaseUri.ToString(), "--out", _temp.Path);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("400", line, StringComparison.Ordinal);
        Assert.Contains("One or more validation errors occurred", line, StringComparison.Ordinal);
        Assert.Contains("prompt: The prompt is empty.", line, StringComparison.Ordinal);
        Assert.Contains("num_inference_steps: Must be between 1 and 4.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_status_url_is_a_clear_error()
    {
        using var http = new HttpClient();
        var api = new ApiClient(http, _server.BaseUri, null);

        var error = await Assert.ThrowsAsync<ApiException>(() => api.GetStatusAsync(api.Resolve("/api/generations/nope"), CancellationToken.None));

        Assert.Contains("404", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Job_files_hold_one_request_a_list_or_one_per_line()
    {
        Assert.Single(JobFileReader.Parse("""{"model": "m", "prompt": "p"}""", "job.json", jsonLines: false));
        Assert.Equal(2, JobFileReader.Parse("""{"requests": [{"prompt": "a"}, {"prompts": ["b", "c"]}]}""", "job.json", jsonLines: false).Count);
        var lines = JobFileReader.Parse("{\"prompt\": \"a\"}\n\n{\"prompt\": \"b\"}\n", "job.jsonl", jsonLines: true);
        Assert.Equal(new[] { "a", "b" }, lines.Select(r => (string)r["prompt"]!).ToArray());

        var bad = Assert.Throws<CliException>(() => JobFileReader.Parse("{\"prompt\": \"a\"}\n{oops\n", "job.jsonl", jsonLines: true));
        Assert.Contains("job.jsonl line 2", bad.Message, StringComparison.Ordinal);
        Assert.Throws<CliException>(() => JobFileReader.Parse("{\"requests\": []}", "job.json", jsonLines: false));
        Assert.Throws<CliException>(() => JobFileReader.Parse("[1]", "job.json", jsonLines: false));
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Url!.AbsolutePath;
        if (request.HttpMethod == "POST" && path == "/api/generations")
        {
            if (RejectRequests)
            {
                response.StatusCode = 400;
                await WriteAsync(response, "application/problem+json", JsonSerializer.Serialize(new
                {
                    type = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                    title = "One or more validation errors occurred.",
                    status = 400,
                    detail = "The request is not valid.",
                    errors = new Dictionary<string, string[]>
                    {
                        ["prompt"] = ["The prompt is empty."],
                        ["num_inference_steps"] = ["Must be between 1 and 4."],
                    },
                }));
                return;
            }

            response.StatusCode = 202;
            response.AddHeader("Location", "/api/generations/gen-1");
            await WriteAsync(response, "application/json", JsonSerializer.Serialize(new
            {
                id = "gen-1",
                status_url = new Uri(_server.BaseUri, "/api/generations/gen-1").ToString(),
                seed = 42,
            }));
            return;
        }

        if (request.HttpMethod == "GET" && path == "/api/generations/gen-1")
        {
            var poll = Interlocked.Increment(ref _polls);
            object status = poll switch
            {
                1 => new { id = "gen-1", status = "pending", created_at = "2025-01-01T00:00:00Z", progress = new { completed = 0, total = 2 }, images = Array.Empty<object>() },
                2 => new { id = "gen-1", status = "running", created_at = "2025-01-01T00:00:00Z", progress = new { completed = 1, total = 2 }, images = Array.Empty<object>() },
                _ => new
                {
                    id = "gen-1",
                    status = "succeeded",
                    created_at = "2025-01-01T00:00:00Z",
                    completed_at = "2025-01-01T00:00:02Z",
                    progress = new { completed = 2, total = 2 },
                    images = new object[]
                    {
                        new { prompt_index = 0, image_index = 0, seed = 42, url = "/images/gen-1/0-0.png?sig=abc", blob = "generations/gen-1/0-0.png" },
                        new { prompt_index = 0, image_index = 1, seed = 43, url = new Uri(_server.BaseUri, "/images/gen-1/0-1.png?sig=def").ToString(), blob = "generations/gen-1/0-1.png" },
                    },
                },
            };
            if (poll == 1)
            {
                response.AddHeader("Retry-After", "0");
            }

            await WriteAsync(response, "application/json", JsonSerializer.Serialize(status));
            return;
        }

        if (request.HttpMethod == "GET" && path.StartsWith("/images/gen-1/", StringComparison.Ordinal))
        {
            var bytes = path.EndsWith("0-0.png", StringComparison.Ordinal) ? s_png0 : s_png1;
            response.ContentType = "image/png";
            response.ContentLength64 = bytes.Length;
            await response.OutputStream.WriteAsync(bytes);
            return;
        }

        response.StatusCode = 404;
    }

    private static async Task WriteAsync(HttpListenerResponse response, string contentType, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.ContentType = contentType;
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
    }
}
