using System.Globalization;
using System.Text.Json;

namespace FewStep.Diffusion.Tokenization;

/// <summary>
/// What <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> say: the sequence length, the special tokens
/// and the added tokens (content to id).
/// </summary>
internal sealed class ClipTokenizerConfig
{
    public const string ConfigFileName = "tokenizer_config.json";
    public const string SpecialTokensMapFileName = "special_tokens_map.json";

    private static readonly string[] SpecialTokenFields = ["bos_token", "eos_token", "unk_token", "pad_token"];

    private ClipTokenizerConfig(
        string configPath,
        int modelMaxLength,
        IReadOnlyDictionary<string, string> specialTokens,
        IReadOnlyList<string> additionalSpecialTokens,
        IReadOnlyDictionary<string, int> addedTokens)
    {
        ConfigPath = configPath;
        ModelMaxLength = modelMaxLength;
        SpecialTokens = specialTokens;
        AdditionalSpecialTokens = additionalSpecialTokens;
        AddedTokens = addedTokens;
    }

    public string ConfigPath { get; }

    public int ModelMaxLength { get; }

    /// <summary>Field name ("bos_token", ...) to token content, for the fields that are set.</summary>
    public IReadOnlyDictionary<string, string> SpecialTokens { get; }

    public IReadOnlyList<string> AdditionalSpecialTokens { get; }

    /// <summary><c>added_tokens_decoder</c>, as content to id.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; }

    public static ClipTokenizerConfig Load(string directory)
    {
        string configPath = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(configPath))
        {
            throw new DiffusionException($"Tokenizer config not found: '{configPath}'.");
        }

        using JsonDocument config = ParseJson(configPath);
        JsonElement root = config.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new DiffusionException($"Malformed tokenizer config '{configPath}': the root is not a JSON object.");
        }

        int modelMaxLength = ReadModelMaxLength(root, configPath);
        Dictionary<string, int> addedTokens = ReadAddedTokens(root, configPath);
        var specialTokens = new Dictionary<string, string>(StringComparer.Ordinal);
        var additional = new List<string>();
        ReadSpecialTokens(root, configPath, specialTokens, additional);

        // transformers reads special_tokens_map.json only for configs without added_tokens_decoder (the pre-4.34
        // layout), where it overrides the config; newer configs win, and the map only fills fields they lack.
        string mapPath = Path.Combine(directory, SpecialTokensMapFileName);
        if (File.Exists(mapPath))
        {
            using JsonDocument map = ParseJson(mapPath);
            if (map.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new DiffusionException($"Malformed special tokens map '{mapPath}': the root is not a JSON object.");
            }

            bool mapOverrides = !root.TryGetProperty("added_tokens_decoder", out _);
            var fromMap = new Dictionary<string, string>(StringComparer.Ordinal);
            var additionalFromMap = new List<string>();
            ReadSpecialTokens(map.RootElement, mapPath, fromMap, additionalFromMap);
            foreach ((string field, string content) in fromMap)
            {
                if (mapOverrides || !specialTokens.ContainsKey(field))
                {
                    specialTokens[field] = content;
                }
            }

            if (mapOverrides || additional.Count == 0)
            {
                additional = additionalFromMap.Count > 0 ? additionalFromMap : additional;
            }
        }

        return new ClipTokenizerConfig(configPath, modelMaxLength, specialTokens, additional, addedTokens);
    }

    private static JsonDocument ParseJson(string path)
    {
        try
        {
            using FileStream stream = File.OpenRead(path);
            return JsonDocument.Parse(stream);
        }
        catch (JsonException e)
        {
            throw new DiffusionException($"Malformed JSON in '{path}': {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new DiffusionException($"Cannot read '{path}': {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DiffusionException($"Cannot read '{path}': {e.Message}", e);
        }
    }

    private static int ReadModelMaxLength(JsonElement root, string path)
    {
        if (!root.TryGetProperty("model_max_length", out JsonElement value))
        {
            throw new DiffusionException($"Tokenizer config '{path}' has no 'model_max_length'.");
        }

        // BOS and EOS alone take two positions.
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int length) || length < 2)
        {
            throw new DiffusionException(
                $"Tokenizer config '{path}' has an unsupported 'model_max_length' {value.GetRawText()}: expected a whole number of at least 2.");
        }

        return length;
    }

    private static Dictionary<string, int> ReadAddedTokens(JsonElement root, string path)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!root.TryGetProperty("added_tokens_decoder", out JsonElement decoder) || decoder.ValueKind == JsonValueKind.Null)
        {
            return added;
        }

        if (decoder.ValueKind != JsonValueKind.Object)
        {
            throw new DiffusionException($"Malformed tokenizer config '{path}': 'added_tokens_decoder' is not an object.");
        }

        foreach (JsonProperty entry in decoder.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                throw new DiffusionException($"Malformed tokenizer config '{path}': 'added_tokens_decoder' key '{entry.Name}' is not a token id.");
            }

            string content = ReadTokenContent(entry.Value, path, $"added_tokens_decoder.{entry.Name}")
                ?? throw new DiffusionException($"Malformed tokenizer config '{path}': 'added_tokens_decoder.{entry.Name}' has no content.");
            added[content] = id;
        }

        return added;
    }

    private static void ReadSpecialTokens(JsonElement root, string path, Dictionary<string, string> specialTokens, List<string> additional)
    {
        foreach (string field in SpecialTokenFields)
        {
            if (root.TryGetProperty(field, out JsonElement value) && ReadTokenContent(value, path, field) is string content)
            {
                specialTokens[field] = content;
            }
        }

        if (root.TryGetProperty("additional_special_tokens", out JsonElement list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                throw new DiffusionException($"Malformed tokenizer file '{path}': 'additional_special_tokens' is not a list.");
            }

            int index = 0;
            foreach (JsonElement item in list.EnumerateArray())
            {
                if (ReadTokenContent(item, path, $"additional_special_tokens[{index}]") is string content)
                {
                    additional.Add(content);
                }

                index++;
            }
        }
    }

    // A token is written either as its content or as an AddedToken object {"content": ..., "lstrip": ...}.
    private static string? ReadTokenContent(JsonElement value, string path, string field)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return value.GetString();
            case JsonValueKind.Object when value.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String:
                return content.GetString();
            default:
                throw new DiffusionException(
                    $"Malformed tokenizer file '{path}': '{field}' must be a string or an object with a string 'content'.");
        }
    }
}
