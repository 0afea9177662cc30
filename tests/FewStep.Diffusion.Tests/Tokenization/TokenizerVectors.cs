using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using FewStep.Diffusion.Tokenization;

namespace FewStep.Diffusion.Tests.Tokenization;

/// <summary>conformance/tokenizers.json and the four tokenizer folders it applies to, loaded once per test run.</summary>
internal static class TokenizerVectors
{
    /// <summary>Tokenizer folders (relative to conformance/models) and whether they pad with "!" rather than EOS.</summary>
    public static readonly IReadOnlyDictionary<string, bool> Folders = new Dictionary<string, bool>(StringComparer.Ordinal)
    {
        ["tiny-lcm/tokenizer"] = false,
        ["tiny-sd-turbo/tokenizer"] = true,
        ["tiny-sdxl-turbo/tokenizer"] = false,
        ["tiny-sdxl-turbo/tokenizer_2"] = true,
    };

    private static readonly Lazy<List<TokenizerCase>> CasesLazy = new(LoadCases);
    private static readonly ConcurrentDictionary<string, ClipTokenizer> Tokenizers = new(StringComparer.Ordinal);

    public static IReadOnlyList<TokenizerCase> Cases => CasesLazy.Value;

    public static string FolderPath(string folder) => Path.Combine(ConformancePaths.Models, folder);

    public static ClipTokenizer Tokenizer(string folder) => Tokenizers.GetOrAdd(folder, f => ClipTokenizer.Load(FolderPath(f)));

    private static List<TokenizerCase> LoadCases()
    {
        using FileStream stream = File.OpenRead(ConformancePaths.TokenizersJson);
        TokenizerVectorFile file = JsonSerializer.Deserialize<TokenizerVectorFile>(stream)
            ?? throw new InvalidOperationException($"'{ConformancePaths.TokenizersJson}' is empty.");
        return file.Cases;
    }

    private sealed record TokenizerVectorFile([property: JsonPropertyName("cases")] List<TokenizerCase> Cases);
}
