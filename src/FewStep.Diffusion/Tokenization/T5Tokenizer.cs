using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace FewStep.Diffusion.Tokenization;

/// <summary>
/// The T5 tokenizer of a PixArt pipeline folder (<c>tokenizer/spiece.model</c> and its JSON files), reproducing
/// transformers' slow <c>T5Tokenizer</c> with <c>legacy=True</c>, as the conformance vectors were made.
/// </summary>
/// <remarks>
/// <para>
/// Pipeline: split the text on the added tokens (<c>&lt;pad&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;unk&gt;</c>,
/// <c>&lt;extra_id_N&gt;</c>; transformers' no-split trie, honouring each token's lstrip/rstrip) → each remaining
/// chunk through SentencePiece on its own (nmt_nfkc normalisation, dummy "▁" prefix, extra whitespace removed,
/// unigram Viterbi), done by Microsoft.ML.Tokenizers' <see cref="SentencePieceTokenizer"/> → <c>&lt;/s&gt;</c>
/// unless the ids already end with it → truncation and padding.
/// </para>
/// <para>
/// Written here because Microsoft.ML.Tokenizers 2.0.1 lacks these pieces: it cannot load a model whose
/// <c>bos_id</c> is -1 (<see cref="SentencePieceModelPatch"/>); it emits one <c>&lt;unk&gt;</c> per unknown
/// character where SentencePiece merges a run of unknown characters into one piece (so runs are merged here); it
/// does not know transformers' added tokens, which are split off before SentencePiece sees the text (legacy T5
/// encodes each chunk separately, each with its own dummy prefix); and it has no pad/truncate-to-length step or
/// attention mask. An empty text is just <c>[&lt;/s&gt;]</c>.
/// </para>
/// Immutable after <see cref="Load"/>, so one instance serves concurrent callers.
/// </remarks>
public sealed class T5Tokenizer
{
    public const string ModelFileName = "spiece.model";
    public const string ConfigFileName = "tokenizer_config.json";
    public const string SpecialTokensMapFileName = "special_tokens_map.json";

    private readonly SentencePieceTokenizer _sentencePiece;

    // Added tokens, longest first so that the longest match wins.
    private readonly AddedToken[] _addedTokens;
    private readonly FrozenDictionary<string, AddedToken> _addedTokensByContent;

    private T5Tokenizer(SentencePieceTokenizer sentencePiece, IEnumerable<AddedToken> addedTokens, int modelMaxLength, int eos, int pad, int unk)
    {
        _sentencePiece = sentencePiece;
        _addedTokens = [.. addedTokens.Where(t => t.Content.Length > 0).OrderByDescending(t => t.Content.Length).ThenBy(t => t.Content, StringComparer.Ordinal)];
        _addedTokensByContent = _addedTokens.ToFrozenDictionary(t => t.Content, StringComparer.Ordinal);
        ModelMaxLength = modelMaxLength;
        EosTokenId = eos;
        PadTokenId = pad;
        UnknownTokenId = unk;
    }

    /// <summary><c>model_max_length</c> of <c>tokenizer_config.json</c> (120 for PixArt's; 512 when it names none).</summary>
    public int ModelMaxLength { get; }

    public int EosTokenId { get; }

    public int PadTokenId { get; }

    public int UnknownTokenId { get; }

    /// <summary>Reads <c>spiece.model</c>, <c>tokenizer_config.json</c> and (if present) <c>special_tokens_map.json</c>.</summary>
    /// <exception cref="DiffusionException">A file is missing or malformed, or a special token is unknown.</exception>
    public static T5Tokenizer Load(string tokenizerDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerDirectory);
        if (!Directory.Exists(tokenizerDirectory))
        {
            throw new DiffusionException($"Tokenizer folder not found: '{tokenizerDirectory}'.");
        }

        var modelPath = Path.Combine(tokenizerDirectory, ModelFileName);
        if (!File.Exists(modelPath))
        {
            throw new DiffusionException($"SentencePiece model not found: '{modelPath}'.");
        }

        SentencePieceTokenizer sentencePiece;
        try
        {
            var model = SentencePieceModelPatch.WithValidBosId(File.ReadAllBytes(modelPath), modelPath);
            using var stream = new MemoryStream(model, writable: false);
            sentencePiece = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not DiffusionException and (ArgumentException or InvalidOperationException or IOException or IndexOutOfRangeException or NotSupportedException or FormatException))
        {
            throw new DiffusionException($"Cannot load the SentencePiece model '{modelPath}': {e.Message}", e);
        }

        var config = ReadObject(Path.Combine(tokenizerDirectory, ConfigFileName), required: true)!.Value;
        var map = ReadObject(Path.Combine(tokenizerDirectory, SpecialTokensMapFileName), required: false);
        var configPath = Path.Combine(tokenizerDirectory, ConfigFileName);
        var vocabulary = sentencePiece.Vocabulary;

        var added = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        if (config.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in decoder.EnumerateObject())
            {
                if (!int.TryParse(entry.Name, System.Globalization.CultureInfo.InvariantCulture, out var id) ||
                    entry.Value.ValueKind != JsonValueKind.Object ||
                    !entry.Value.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                {
                    throw new DiffusionException($"Malformed tokenizer config '{configPath}': added_tokens_decoder entry '{entry.Name}'.");
                }

                added[content.GetString()!] = new AddedToken(content.GetString()!, id, Flag(entry.Value, "lstrip"), Flag(entry.Value, "rstrip"));
            }
        }
        else
        {
            // Older configs: transformers' T5Tokenizer makes <extra_id_i> id (pieces - 1 + extra_ids - i), stripped
            // on both sides; the special tokens are pieces of the model.
            var extraIds = config.TryGetProperty("extra_ids", out var extra) && extra.ValueKind == JsonValueKind.Number ? extra.GetInt32() : 100;
            var pieces = vocabulary.Count;
            for (var i = 0; i < extraIds; i++)
            {
                var content = $"<extra_id_{i}>";
                added[content] = new AddedToken(content, pieces - 1 + extraIds - i, LeftStrip: true, RightStrip: true);
            }
        }

        int Special(string field, string fallback)
        {
            var content = TokenContent(config, field) ?? (map is { } m ? TokenContent(m, field) : null) ?? fallback;
            if (added.TryGetValue(content, out var token))
            {
                return token.Id;
            }

            if (vocabulary.TryGetValue(content, out var id))
            {
                added[content] = new AddedToken(content, id, LeftStrip: false, RightStrip: false);
                return id;
            }

            throw new DiffusionException($"Tokenizer config '{configPath}': {field} '{content}' is not a piece of '{modelPath}'.");
        }

        var eos = Special("eos_token", "</s>");
        var pad = Special("pad_token", "<pad>");
        var unk = Special("unk_token", "<unk>");
        var maxLength = config.TryGetProperty("model_max_length", out var max) && max.ValueKind == JsonValueKind.Number && max.TryGetInt32(out var m2) && m2 > 0
            ? m2
            : 512;
        return new T5Tokenizer(sentencePiece, added.Values, maxLength, eos, pad, unk);
    }

    /// <summary>The pieces of <paramref name="text"/> without <c>&lt;/s&gt;</c>: transformers' <c>tokenize</c>.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<string>();
        EncodeContent(text, pieces, []);
        return pieces;
    }

    /// <summary>The ids and <c>&lt;/s&gt;</c> with neither truncation nor padding.</summary>
    public int[] EncodeUntruncated(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        EncodeContent(text, pieces: null, ids);
        AddEos(ids);
        return [.. ids];
    }

    /// <summary>
    /// <c>tokenizer(text, padding="max_length", max_length=maxLength, truncation=True, add_special_tokens=True)</c>:
    /// at most <c>maxLength - 1</c> pieces, <c>&lt;/s&gt;</c>, then <c>&lt;pad&gt;</c> (mask 0).
    /// </summary>
    /// <param name="text">The text, as the pipeline passes it (PixArt lower-cases and strips it first).</param>
    /// <param name="maxLength">The padded length; <see cref="ModelMaxLength"/> when null.</param>
    public T5TokenizedText Encode(string text, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var length = maxLength ?? ModelMaxLength;
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1, nameof(maxLength));
        var content = new List<int>();
        EncodeContent(text, pieces: null, content);
        var untruncated = content.Count + (content.Count > 0 && content[^1] == EosTokenId ? 0 : 1);

        // transformers counts one special token (</s>) whether or not the ids already end with it, cuts the pieces
        // to make room for it, then adds it only when the last id is not already </s>.
        var truncated = content.Count + 1 > length;
        if (truncated)
        {
            content.RemoveRange(length - 1, content.Count - (length - 1));
        }

        AddEos(content);
        var ids = new int[length];
        var mask = new int[length];
        content.CopyTo(ids);
        ids.AsSpan(content.Count).Fill(PadTokenId);
        mask.AsSpan(0, content.Count).Fill(1);
        return new T5TokenizedText(ids, mask, untruncated, truncated);
    }

    private void AddEos(List<int> ids)
    {
        if (ids.Count == 0 || ids[^1] != EosTokenId)
        {
            ids.Add(EosTokenId);
        }
    }

    private void EncodeContent(string text, List<string>? pieces, List<int> ids)
    {
        // Split into chunks and added tokens first, then apply the strips (transformers' tokenize).
        var parts = new List<(string Text, AddedToken? Token)>();
        var chunkStart = 0;
        var position = 0;
        while (position < text.Length)
        {
            var token = MatchAddedToken(text, position);
            if (token is null)
            {
                position++;
                continue;
            }

            parts.Add((text[chunkStart..position], null));
            parts.Add((token.Content, token));
            position += token.Content.Length;
            chunkStart = position;
        }

        parts.Add((text[chunkStart..], null));
        for (var i = 0; i < parts.Count; i++)
        {
            if (parts[i].Token is not { } token)
            {
                continue;
            }

            if (token.LeftStrip && i > 0)
            {
                parts[i - 1] = (PythonRstrip(parts[i - 1].Text), null);
            }

            if (token.RightStrip && i + 1 < parts.Count)
            {
                parts[i + 1] = (PythonLstrip(parts[i + 1].Text), null);
            }
        }

        foreach (var (chunk, token) in parts)
        {
            if (token is not null)
            {
                pieces?.Add(token.Content);
                ids.Add(token.Id);
            }
            else if (chunk.Length > 0)
            {
                EncodeChunk(chunk, pieces, ids);
            }
        }
    }

    private AddedToken? MatchAddedToken(string text, int position)
    {
        var rest = text.AsSpan(position);
        foreach (var token in _addedTokens)
        {
            if (rest.StartsWith(token.Content, StringComparison.Ordinal))
            {
                return token;
            }
        }

        return null;
    }

    private void EncodeChunk(string chunk, List<string>? pieces, List<int> ids)
    {
        var previousWasUnknown = false;
        foreach (var token in _sentencePiece.EncodeToTokens(chunk, out _, addBeginningOfSentence: false, addEndOfSentence: false))
        {
            var unknown = token.Id == UnknownTokenId && !_addedTokensByContent.ContainsKey(token.Value);
            if (unknown && previousWasUnknown)
            {
                // SentencePiece merges adjacent unknown characters into one piece (one <unk>).
                if (pieces is not null)
                {
                    pieces[^1] += token.Value;
                }

                continue;
            }

            pieces?.Add(token.Value);
            ids.Add(token.Id);
            previousWasUnknown = unknown;
        }
    }

    private static string PythonRstrip(string text)
    {
        var end = text.Length;
        while (end > 0 && PythonText.IsSpace(text[end - 1]))
        {
            end--;
        }

        return text[..end];
    }

    private static string PythonLstrip(string text)
    {
        var start = 0;
        while (start < text.Length && PythonText.IsSpace(text[start]))
        {
            start++;
        }

        return text[start..];
    }

    private static bool Flag(JsonElement entry, string name) =>
        entry.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    // A special token is a string or an AddedToken object ({"content": ...}).
    private static string? TokenContent(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => null,
        };
    }

    private static JsonElement? ReadObject(string path, bool required)
    {
        if (!File.Exists(path))
        {
            return required ? throw new DiffusionException($"Tokenizer config not found: '{path}'.") : null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new DiffusionException($"Malformed tokenizer file '{path}': the root is not a JSON object.");
            }

            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new DiffusionException($"Malformed tokenizer file '{path}': {e.Message}", e);
        }
    }

    private sealed record AddedToken(string Content, int Id, bool LeftStrip, bool RightStrip);
}
