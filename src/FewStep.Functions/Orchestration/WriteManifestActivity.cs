using System.Text.Json;
using System.Text.Json.Serialization;
using FewStep.Functions.Contracts;
using FewStep.Functions.Storage;
using Microsoft.Azure.Functions.Worker;

namespace FewStep.Functions.Orchestration;

/// <summary>Writes <c>{prefix}/manifest.json</c>: the request, each image's seed and blob, status and timings.</summary>
public sealed class WriteManifestActivity
{
    public const string Name = "WriteManifest";

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    private readonly IImageStore _store;

    public WriteManifestActivity(IImageStore store) => _store = store;

    public static string BlobName(string prefix) => $"{prefix}/manifest.json";

    [Function(Name)]
    public Task Run([ActivityTrigger] ManifestInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(input, context.CancellationToken);
    }

    public async Task RunAsync(ManifestInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            var images = await _store.ListImagesAsync(input.BlobPrefix, cancellationToken).ConfigureAwait(false);
            var spec = input.Spec;
            var manifest = new
            {
                input.Id,
                input.Status,
                input.Error,
                Request = new
                {
                    spec.Model,
                    spec.Prompts,
                    Prompts2 = spec.Prompts2,
                    spec.NegativePrompts,
                    spec.NegativePrompts2,
                    spec.NumInferenceSteps,
                    spec.GuidanceScale,
                    spec.Width,
                    spec.Height,
                    spec.Seed,
                    spec.NumImagesPerPrompt,
                    UseResolutionBinning = spec.UseResolutionBinning ? true : (bool?)null,
                },
                Images = images.Select(i => new { i.PromptIndex, i.ImageIndex, i.Seed, i.Blob }),
                ImagesExpected = spec.ImageCount,
                Timings = new
                {
                    input.CreatedAt,
                    input.CompletedAt,
                    WallSeconds = (input.CompletedAt - input.CreatedAt).TotalSeconds,
                    input.Batches,
                    RenderSeconds = input.RenderMilliseconds / 1000.0,
                },
            };
            await _store.WriteJsonAsync(BlobName(input.BlobPrefix), BinaryData.FromObjectAsJson(manifest, JsonOptions), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (TransientErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientFailureException($"Writing the manifest of {input.Id} failed transiently: {e.Message}", e);
        }
    }
}
