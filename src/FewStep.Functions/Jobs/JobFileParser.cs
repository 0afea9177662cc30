using System.Text.Json;
using System.Text.Unicode;
using FewStep.Functions.Options;
using FewStep.Functions.Plans;
using FewStep.Functions.Validation;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Jobs;

/// <summary>
/// Reads a job file: <c>.json</c> (one request, <c>{"requests": [ ... ]}</c> or a list of requests) or
/// <c>.jsonl</c> (one request per line). A UTF-8 byte-order mark and CRLF line ends are fine. Every request is
/// validated like a <c>POST /api/generations</c> body; every problem is reported with its line.
/// </summary>
public sealed class JobFileParser
{
    public static readonly IReadOnlyList<string> Extensions = [".jsonl", ".json"];

    private static readonly JsonDocumentOptions s_json = new() { MaxDepth = 64 };

    private readonly GenerationRequestParser _parser;
    private readonly FewStepOptions _options;

    public JobFileParser(GenerationRequestParser parser, IOptions<FewStepOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _parser = parser;
        _options = options.Value;
    }

    /// <summary>Parses and validates <paramref name="content"/>; <paramref name="seedForLine"/> gives the seed of a request without one.</summary>
    public ParsedJob Parse(string blobName, ReadOnlySpan<byte> content, Func<int, long> seedForLine)
    {
        ArgumentNullException.ThrowIfNull(blobName);
        ArgumentNullException.ThrowIfNull(seedForLine);
        var problems = new List<JobProblem>();
        var requests = new List<PlannedRequest>();
        var isLines = blobName.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        if (!isLines && !blobName.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add(new JobProblem(null, "file", $"'{blobName}' is not a job file: name it <name>.json (one request, {{\"requests\": [...]}} or a list) or <name>.jsonl (one request per line)."));
            return new ParsedJob(requests, problems);
        }

        if (content.Length > _options.MaxJobBytes)
        {
            problems.Add(new JobProblem(null, "file", $"is {content.Length} bytes; a job file may be at most {_options.MaxJobBytes} bytes."));
            return new ParsedJob(requests, problems);
        }

        if (content.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            content = content[3..];
        }

        if (!Utf8.IsValid(content))
        {
            problems.Add(new JobProblem(LineOf(content, FirstInvalidUtf8(content)), "file", "is not valid UTF-8 text."));
            return new ParsedJob(requests, problems);
        }

        if (content.Trim(" \t\r\n"u8).IsEmpty)
        {
            problems.Add(new JobProblem(null, "file", "is empty: a job holds at least one request."));
            return new ParsedJob(requests, problems);
        }

        if (isLines)
        {
            ParseLines(content, seedForLine, requests, problems);
        }
        else
        {
            ParseDocument(content, seedForLine, requests, problems);
        }

        return new ParsedJob(problems.Count == 0 ? requests : [], problems);
    }

    private void ParseLines(ReadOnlySpan<byte> content, Func<int, long> seedForLine, List<PlannedRequest> requests, List<JobProblem> problems)
    {
        var line = 0;
        var count = 0;
        while (!content.IsEmpty)
        {
            line++;
            var end = content.IndexOf((byte)'\n');
            var text = end < 0 ? content : content[..end];
            content = end < 0 ? [] : content[(end + 1)..];
            if (text.EndsWith("\r"u8))
            {
                text = text[..^1];
            }

            if (text.Trim(" \t"u8).IsEmpty)
            {
                continue;
            }

            if (++count > _options.MaxJobRequests)
            {
                problems.Add(new JobProblem(line, "file", $"a job may hold at most {_options.MaxJobRequests} requests; this line is request {count}."));
                return;
            }

            if (text.Length > _options.MaxJobLineBytes)
            {
                problems.Add(new JobProblem(line, "line", $"is {text.Length} bytes long; a line may be at most {_options.MaxJobLineBytes} bytes."));
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(text.ToArray(), s_json);
                Validate(document.RootElement, line, seedForLine, requests, problems);
            }
            catch (JsonException e)
            {
                problems.Add(new JobProblem(line, "body", $"is not valid JSON: {Reason(e)}"));
            }
            catch (InvalidOperationException)
            {
                // Backstop: text the JSON reader cannot turn into a string (see JsonText).
                problems.Add(new JobProblem(line, "body", JsonText.UnpairedSurrogate));
            }
        }
    }

    private void ParseDocument(ReadOnlySpan<byte> content, Func<int, long> seedForLine, List<PlannedRequest> requests, List<JobProblem> problems)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(content.ToArray(), s_json);
        }
        catch (JsonException e)
        {
            problems.Add(new JobProblem(e.LineNumber is { } line ? (int)line + 1 : null, "body", $"is not valid JSON: {Reason(e)}"));
            return;
        }

        using (document)
        {
            try
            {
                ValidateDocument(document.RootElement, content, seedForLine, requests, problems);
            }
            catch (InvalidOperationException)
            {
                // Backstop: text the JSON reader cannot turn into a string (see JsonText).
                problems.Add(new JobProblem(1, "body", JsonText.UnpairedSurrogate));
            }
        }
    }

    private void ValidateDocument(JsonElement root, ReadOnlySpan<byte> content, Func<int, long> seedForLine, List<PlannedRequest> requests, List<JobProblem> problems)
    {
        JsonElement list;
        if (root.ValueKind == JsonValueKind.Array)
        {
            list = root;
        }
        else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("requests", out var wrapped))
        {
            foreach (var property in root.EnumerateObject())
            {
                if (!JsonText.TryGetName(property, out var name))
                {
                    problems.Add(new JobProblem(1, "body", $"has a field name that {JsonText.UnpairedSurrogate}"));
                }
                else if (name != "requests")
                {
                    problems.Add(new JobProblem(1, name, "is not a field of a job file ({\"requests\": [ ... ]} holds only requests)."));
                }
            }

            if (wrapped.ValueKind != JsonValueKind.Array)
            {
                problems.Add(new JobProblem(1, "requests", "must be a list of generation requests."));
                return;
            }

            list = wrapped;
        }
        else
        {
            Validate(root, 1, seedForLine, requests, problems);
            return;
        }

        var count = list.GetArrayLength();
        if (count == 0)
        {
            problems.Add(new JobProblem(1, "requests", "is empty: a job holds at least one request."));
            return;
        }

        if (count > _options.MaxJobRequests)
        {
            problems.Add(new JobProblem(1, "requests", $"holds {count} requests; a job may hold at most {_options.MaxJobRequests}."));
            return;
        }

        var lines = ElementLines(content, root.ValueKind == JsonValueKind.Object);
        var index = 0;
        foreach (var element in list.EnumerateArray())
        {
            Validate(element, index < lines.Count ? lines[index] : 1, seedForLine, requests, problems);
            index++;
        }
    }

    private void Validate(JsonElement element, int line, Func<int, long> seedForLine, List<PlannedRequest> requests, List<JobProblem> problems)
    {
        var result = _parser.Parse(element, () => seedForLine(line));
        foreach (var (field, messages) in result.Errors.ToDictionary())
        {
            problems.AddRange(messages.Select(message => new JobProblem(line, field, message)));
        }

        if (result.Spec is { } spec)
        {
            if (spec.WebhookUrl is not null)
            {
                problems.Add(new JobProblem(line, "webhook_url", "is not supported in a job file: watch the job's status or its results folder instead."));
                return;
            }

            requests.Add(new PlannedRequest(line, spec));
        }
    }

    // The line each element of the request list starts on (Utf8JsonReader gives byte offsets; JsonDocument does not).
    private static List<int> ElementLines(ReadOnlySpan<byte> json, bool wrapped)
    {
        var lines = new List<int>();
        var reader = new Utf8JsonReader(json);
        var elementDepth = -1;
        while (reader.Read())
        {
            if (elementDepth < 0)
            {
                if (!wrapped && reader.TokenType == JsonTokenType.StartArray && reader.CurrentDepth == 0)
                {
                    elementDepth = 1;
                }
                else if (wrapped && reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("requests"u8)
                    && reader.Read() && reader.TokenType == JsonTokenType.StartArray)
                {
                    elementDepth = 2;
                }

                continue;
            }

            if (reader.CurrentDepth == elementDepth && reader.TokenType is not (JsonTokenType.EndObject or JsonTokenType.EndArray or JsonTokenType.PropertyName))
            {
                lines.Add(LineOf(json, (int)reader.TokenStartIndex));
            }
            else if (reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == elementDepth - 1)
            {
                break;
            }

            if (reader.CurrentDepth == elementDepth && reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }
        }

        return lines;
    }

    private static int LineOf(ReadOnlySpan<byte> content, int offset) => content[..Math.Min(offset, content.Length)].Count((byte)'\n') + 1;

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> content)
    {
        var valid = 0;
        while (valid < content.Length)
        {
            var result = System.Text.Rune.DecodeFromUtf8(content[valid..], out _, out var consumed);
            if (result != System.Buffers.OperationStatus.Done)
            {
                return valid;
            }

            valid += consumed;
        }

        return valid;
    }

    private static string Reason(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
