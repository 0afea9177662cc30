using System.Buffers;
using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace FewStep.Diffusion.Tokenization;

/// <summary>
/// The CLIP BPE tokenizer of a diffusers pipeline folder (<c>tokenizer/</c>, <c>tokenizer_2/</c>), reproducing
/// transformers' slow <c>CLIPTokenizer</c> without <c>ftfy</c>, as the conformance vectors were made.
/// </summary>
/// <remarks>
/// Pipeline: split the raw prompt on the added/special tokens (transformers' no-split trie, so e.g. every "!" of a
/// tokenizer that pads with "!" is a token of its own) → clean each remaining piece (<see cref="ClipTextCleaner"/>)
/// → CLIP's pre-tokenizer (<see cref="ClipPreTokenizer"/>) → byte-level BPE with the "&lt;/w&gt;" end-of-word
/// suffix, done by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>, which reproduces CLIP's merges. BOS, EOS,
/// truncation and padding are added here (<see cref="BpeTokenizer"/> has no pad/truncate-to-length step).
/// Immutable after <see cref="Load"/>, so one instance can serve concurrent callers
/// (<see cref="BpeTokenizer"/>'s word cache takes a lock).
/// </remarks>
public sealed class ClipTokenizer
{
    public const string VocabularyFileName = "vocab.json";
    public const string MergesFileName = "merges.txt";

    // CLIP's BPE (openai simple_tokenizer, transformers CLIPTokenizer.bpe) marks the last symbol of every word this
    // way; the folder's files rely on it but do not state it.
    private const string EndOfWordSuffix = "</w>";

    private readonly BpeTokenizer _bpe;
    private readonly FrozenDictionary<string, int> _vocabulary;

    // Tokens the raw text is split on before clean-up, longest first so that the longest match wins.
    private readonly string[] _splitTokens;
    private readonly FrozenDictionary<string, int> _splitTokenIds;
    private readonly SearchValues<char> _splitTokenStarts;
    private readonly int? _unknownTokenId;

    private ClipTokenizer(
        BpeTokenizer bpe,
        FrozenDictionary<string, int> vocabulary,
        FrozenDictionary<string, int> splitTokenIds,
        int modelMaxLength,
        int bosTokenId,
        int eosTokenId,
        int padTokenId,
        int? unknownTokenId)
    {
        _bpe = bpe;
        _vocabulary = vocabulary;
        _splitTokenIds = splitTokenIds;
        _splitTokens = [.. splitTokenIds.Keys.Where(token => token.Length > 0).OrderByDescending(token => token.Length).ThenBy(token => token, StringComparer.Ordinal)];
        _splitTokenStarts = SearchValues.Create([.. _splitTokens.Select(token => token[0]).Distinct()]);
        _unknownTokenId = unknownTokenId;
        ModelMaxLength = modelMaxLength;
        BosTokenId = bosTokenId;
        EosTokenId = eosTokenId;
        PadTokenId = padTokenId;
    }

    /// <summary>Sequence length the text encoder takes (<c>model_max_length</c>, 77 for CLIP).</summary>
    public int ModelMaxLength { get; }

    public int BosTokenId { get; }

    public int EosTokenId { get; }

    public int PadTokenId { get; }

    /// <summary>
    /// Reads <c>vocab.json</c>, <c>merges.txt</c>, <c>tokenizer_config.json</c> and (if present)
    /// <c>special_tokens_map.json</c> from <paramref name="tokenizerDirectory"/>.
    /// </summary>
    /// <exception cref="DiffusionException">A file is missing or malformed, or a special token is unknown.</exception>
    public static ClipTokenizer Load(string tokenizerDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerDirectory);
        if (!Directory.Exists(tokenizerDirectory))
        {
            throw new DiffusionException($"Tokenizer folder not found: '{tokenizerDirectory}'.");
        }

        string vocabularyPath = Path.Combine(tokenizerDirectory, VocabularyFileName);
        string mergesPath = Path.Combine(tokenizerDirectory, MergesFileName);
        if (!File.Exists(vocabularyPath))
        {
            throw new DiffusionException($"Tokenizer vocabulary not found: '{vocabularyPath}'.");
        }

        if (!File.Exists(mergesPath))
        {
            throw new DiffusionException($"Tokenizer merges not found: '{mergesPath}'.");
        }

        ClipTokenizerConfig config = ClipTokenizerConfig.Load(tokenizerDirectory);
        Dictionary<string, int> vocabulary = ReadVocabulary(vocabularyPath);
        List<string> merges = ReadMerges(mergesPath);

        // transformers makes every special token and every added_tokens_decoder entry a no-split token; an id comes
        // from added_tokens_decoder first, then the vocabulary.
        var splitTokenIds = new Dictionary<string, int>(config.AddedTokens, StringComparer.Ordinal);
        int ResolveId(string content, string field)
        {
            if (config.AddedTokens.TryGetValue(content, out int id) || vocabulary.TryGetValue(content, out id))
            {
                splitTokenIds[content] = id;
                return id;
            }

            throw new DiffusionException(
                $"Tokenizer config '{config.ConfigPath}': {field} '{content}' is neither in 'added_tokens_decoder' nor in '{vocabularyPath}'.");
        }

        int RequiredId(string field) => config.SpecialTokens.TryGetValue(field, out string? content)
            ? ResolveId(content, field)
            : throw new DiffusionException(
                $"Tokenizer config '{config.ConfigPath}' (with '{ClipTokenizerConfig.SpecialTokensMapFileName}') names no '{field}'.");

        int bosTokenId = RequiredId("bos_token");
        int eosTokenId = RequiredId("eos_token");
        int padTokenId = RequiredId("pad_token");
        int? unknownTokenId = null;
        string? unknownToken = null;
        if (config.SpecialTokens.TryGetValue("unk_token", out string? unk))
        {
            unknownTokenId = ResolveId(unk, "unk_token");
            unknownToken = vocabulary.ContainsKey(unk) ? unk : null;
        }

        foreach (string token in config.AdditionalSpecialTokens)
        {
            ResolveId(token, "additional_special_tokens entry");
        }

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
            {
                Merges = merges,
                ByteLevel = true,
                EndOfWordSuffix = EndOfWordSuffix,
                UnknownToken = unknownToken,
            });
        }
        catch (InvalidOperationException e)
        {
            throw new DiffusionException($"Tokenizer merges '{mergesPath}' do not fit '{vocabularyPath}': {e.Message}", e);
        }

        return new ClipTokenizer(
            bpe,
            vocabulary.ToFrozenDictionary(StringComparer.Ordinal),
            splitTokenIds.ToFrozenDictionary(StringComparer.Ordinal),
            config.ModelMaxLength,
            bosTokenId,
            eosTokenId,
            padTokenId,
            unknownTokenId);
    }

    /// <summary>The BPE pieces of <paramref name="text"/> (e.g. "a&lt;/w&gt;"), without BOS/EOS: transformers' <c>tokenize</c>.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<string>();
        EncodeContent(text, pieces, ids: null);
        return pieces;
    }

    /// <summary>[BOS, ids..., EOS] with neither truncation nor padding.</summary>
    public int[] EncodeUntruncated(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int> { BosTokenId };
        EncodeContent(text, pieces: null, ids);
        ids.Add(EosTokenId);
        return [.. ids];
    }

    /// <summary>
    /// <c>tokenizer(text, padding="max_length", max_length=ModelMaxLength, truncation=True)</c>: BOS, the first
    /// <c>ModelMaxLength - 2</c> content tokens, EOS, then padding.
    /// </summary>
    public TokenizedText Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var content = new List<int>();
        EncodeContent(text, pieces: null, content);

        int room = ModelMaxLength - 2;
        int kept = Math.Min(content.Count, room);
        int[] ids = new int[ModelMaxLength];
        ids[0] = BosTokenId;
        content.CopyTo(0, ids, 1, kept);
        ids[kept + 1] = EosTokenId;
        ids.AsSpan(kept + 2).Fill(PadTokenId);
        return new TokenizedText(ids, content.Count + 2, content.Count > room);
    }

    private void EncodeContent(string text, List<string>? pieces, List<int>? ids)
    {
        int chunkStart = 0;
        int position = 0;
        while (position < text.Length)
        {
            int candidate = text.AsSpan(position).IndexOfAny(_splitTokenStarts);
            if (candidate < 0)
            {
                break;
            }

            position += candidate;
            string? token = MatchSplitToken(text, position);
            if (token is null)
            {
                position++;
                continue;
            }

            EncodeChunk(text[chunkStart..position], pieces, ids);
            pieces?.Add(token);
            ids?.Add(_splitTokenIds[token]);
            position += token.Length;
            chunkStart = position;
        }

        EncodeChunk(text[chunkStart..], pieces, ids);
    }

    private string? MatchSplitToken(string text, int position)
    {
        ReadOnlySpan<char> rest = text.AsSpan(position);
        foreach (string token in _splitTokens)
        {
            if (rest.StartsWith(token, StringComparison.Ordinal))
            {
                return token;
            }
        }

        return null;
    }

    private void EncodeChunk(string chunk, List<string>? pieces, List<int>? ids)
    {
        if (chunk.Length == 0)
        {
            return;
        }

        string cleaned = ClipTextCleaner.Clean(chunk);
        foreach (string word in ClipPreTokenizer.Split(cleaned))
        {
            if (ClipPreTokenizer.LiteralTokens.Contains(word))
            {
                // CLIP's BPE hands these back whole (they sit in its cache), so they become one token each, e.g. an
                // upper-case "<|ENDOFTEXT|>" that the no-split step did not catch.
                pieces?.Add(word);
                ids?.Add(LookUpWholeToken(word));
                continue;
            }

            if (pieces is null)
            {
                ids!.AddRange(_bpe.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
                continue;
            }

            foreach (EncodedToken token in _bpe.EncodeToTokens(word, out _, considerPreTokenization: false, considerNormalization: false))
            {
                pieces.Add(token.Value);
                ids?.Add(token.Id);
            }
        }
    }

    private int LookUpWholeToken(string token)
    {
        if (_splitTokenIds.TryGetValue(token, out int id) || _vocabulary.TryGetValue(token, out id))
        {
            return id;
        }

        return _unknownTokenId
            ?? throw new DiffusionException($"Token '{token}' is not in the tokenizer vocabulary and the tokenizer names no 'unk_token'.");
    }

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        Dictionary<string, int>? vocabulary;
        try
        {
            using FileStream stream = File.OpenRead(path);
            vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(stream);
        }
        catch (JsonException e)
        {
            throw new DiffusionException($"Malformed tokenizer vocabulary '{path}': expected a JSON object of token to id. {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new DiffusionException($"Cannot read tokenizer vocabulary '{path}': {e.Message}", e);
        }

        if (vocabulary is null || vocabulary.Count == 0)
        {
            throw new DiffusionException($"Tokenizer vocabulary '{path}' is empty.");
        }

        return vocabulary;
    }

    private static List<string> ReadMerges(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (IOException e)
        {
            throw new DiffusionException($"Cannot read tokenizer merges '{path}': {e.Message}", e);
        }

        var merges = new List<string>(lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.Length == 0 || (i == 0 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }

            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
            {
                throw new DiffusionException($"Malformed tokenizer merges '{path}' at line {i + 1}: expected two symbols separated by one space.");
            }

            merges.Add(line);
        }

        if (merges.Count == 0)
        {
            throw new DiffusionException($"Tokenizer merges '{path}' hold no merges.");
        }

        return merges;
    }
}
