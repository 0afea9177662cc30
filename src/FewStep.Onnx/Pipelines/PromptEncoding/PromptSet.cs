namespace FewStep.Onnx.Pipelines.PromptEncoding;

/// <summary>
/// A request's texts after defaults are applied: one entry per prompt in every list that is not null
/// (a single negative prompt has been repeated for every prompt).
/// </summary>
internal sealed record PromptSet(
    IReadOnlyList<string> Prompts,
    IReadOnlyList<string> Prompts2,
    IReadOnlyList<string>? Negatives,
    IReadOnlyList<string>? Negatives2,
    int ImagesPerPrompt,
    bool ClassifierFreeGuidance,
    int Width,
    int Height)
{
    public int Count => Prompts.Count;

    /// <summary>diffusers' default negative prompt: "" for every prompt.</summary>
    public IReadOnlyList<string> NegativesOrEmpty => Negatives ?? Enumerable.Repeat(string.Empty, Count).ToArray();
}
