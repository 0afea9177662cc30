namespace FewStep.Functions.Rendering;

/// <summary>One image of a batch: its place in the request, its seed and its texts.</summary>
public sealed record RenderItem(
    int PromptIndex,
    int ImageIndex,
    long Seed,
    string Prompt,
    string? Prompt2,
    string? NegativePrompt,
    string? NegativePrompt2);
