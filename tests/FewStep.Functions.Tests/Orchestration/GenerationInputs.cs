using FewStep.Functions.Contracts;
using FewStep.Functions.Orchestration;

namespace FewStep.Functions.Tests.Orchestration;

internal static class GenerationInputs
{
    public static readonly RetrySettings FastRetry = new(4, TimeSpan.FromMilliseconds(50), 1.0);

    public static GenerationInput Create(
        string id,
        int prompts,
        int imagesPerPrompt,
        int batchSize = 4,
        long seed = 1000,
        int threshold = 64,
        int perChunk = 64,
        string? webhook = null,
        RetrySettings? retry = null) => new(
        id,
        new GenerationSpec
        {
            Model = "tiny",
            Prompts = Enumerable.Range(0, prompts).Select(p => $"prompt {p}").ToArray(),
            NumInferenceSteps = 2,
            GuidanceScale = 0,
            Width = 64,
            Height = 64,
            Seed = seed,
            NumImagesPerPrompt = imagesPerPrompt,
            WebhookUrl = webhook,
        },
        $"generations/{id}",
        batchSize,
        threshold,
        perChunk,
        retry ?? FastRetry,
        retry ?? FastRetry,
        new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
}
