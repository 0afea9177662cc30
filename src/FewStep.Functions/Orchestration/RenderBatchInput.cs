using FewStep.Functions.Rendering;

namespace FewStep.Functions.Orchestration;

/// <summary>One activity's work: a batch of at most BatchSize images and where to put them.</summary>
public sealed record RenderBatchInput(string GenerationId, string BlobPrefix, RenderJob Job)
{
    /// <summary>The blob name of an image: <c>{prefix}/{prompt_index}-{image_index}.png</c>, the same on every retry.</summary>
    public static string BlobName(string prefix, int promptIndex, int imageIndex) => $"{prefix}/{promptIndex}-{imageIndex}.png";
}
