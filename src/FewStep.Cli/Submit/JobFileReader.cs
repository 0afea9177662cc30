using System.Text.Json;
using System.Text.Json.Nodes;
using FewStep.Cli.Infrastructure;

namespace FewStep.Cli.Submit;

/// <summary>
/// Reads a job file: one request object, <c>{"requests": [ ... ]}</c> or a JSON array of requests; a
/// <c>.jsonl</c> file holds one request per line. Requests pass to the API as written.
/// </summary>
public static class JobFileReader
{
    public static IReadOnlyList<JsonObject> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new CliException($"Job file '{path}' does not exist.");
        }

        var lines = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase);
        return Parse(File.ReadAllText(path), Path.GetFileName(path), lines);
    }

    public static IReadOnlyList<JsonObject> Parse(string text, string name, bool jsonLines)
    {
        ArgumentNullException.ThrowIfNull(text);
        var requests = new List<JsonObject>();
        if (jsonLines)
        {
            var lines = text.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i].Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                requests.Add(ParseNode(line, $"{name} line {i + 1}") as JsonObject
                    ?? throw new CliException($"{name} line {i + 1}: a request must be a JSON object."));
            }
        }
        else
        {
            switch (ParseNode(text, name))
            {
                case JsonObject o when o["requests"] is JsonArray list:
                    requests.AddRange(Objects(list, name));
                    break;
                case JsonObject o when o.ContainsKey("requests"):
                    throw new CliException($"{name}: \"requests\" must be a list of request objects.");
                case JsonObject o:
                    requests.Add(o);
                    break;
                case JsonArray list:
                    requests.AddRange(Objects(list, name));
                    break;
                default:
                    throw new CliException($"{name}: expected a request object, {{\"requests\": [...]}} or a list of requests.");
            }
        }

        return requests.Count > 0 ? requests : throw new CliException($"{name} holds no requests.");
    }

    private static IEnumerable<JsonObject> Objects(JsonArray list, string name)
    {
        for (var i = 0; i < list.Count; i++)
        {
            var item = list[i] as JsonObject ?? throw new CliException($"{name}: request {i} must be a JSON object.");
            list[i] = null;
            yield return item;
        }
    }

    private static JsonNode? ParseNode(string text, string where)
    {
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new CliException($"{where}: invalid JSON ({e.Message})", e);
        }
    }
}
