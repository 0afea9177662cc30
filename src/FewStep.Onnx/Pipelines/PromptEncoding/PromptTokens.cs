using FewStep.Diffusion.Tokenization;

namespace FewStep.Onnx.Pipelines.PromptEncoding;

/// <summary>Tokenizes a list of texts with padding and truncation to the tokenizer's model_max_length.</summary>
internal static class PromptTokens
{
    public static int[][] Encode(ClipTokenizer tokenizer, IReadOnlyList<string> texts, string tokenizerName, string kind, IPipelineObserver observer)
    {
        var rows = texts.Select(text => tokenizer.Encode(text).Ids).ToArray();
        observer.OnTokenized(tokenizerName, kind, rows);
        return rows;
    }
}
