using System.Text.Json;
using FewStep.Functions.Contracts;
using FewStep.Functions.Storage;

namespace FewStep.Functions.Previews;

/// <summary>
/// Where a run's live preview is kept: <c>.fewstep/previews/{runId}.json</c> in the run's container (beside the
/// cancel markers, outside the image listing), one small JSON document overwritten as the preview changes.
/// </summary>
public static class PreviewStore
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public static string BlobName(string runId) => $".fewstep/previews/{runId}.json";

    public static Task WriteAsync(IImageStore store, string runId, GenerationPreview preview, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.WriteJsonAsync(BlobName(runId), BinaryData.FromObjectAsJson(preview, s_json), cancellationToken);
    }

    /// <summary>The run's latest preview, or null when it has none (or an unreadable one: a preview is never worth an error).</summary>
    public static async Task<GenerationPreview?> ReadAsync(IImageStore store, string runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var data = await store.ReadAsync(BlobName(runId), cancellationToken).ConfigureAwait(false);
        if (data is null)
        {
            return null;
        }

        try
        {
            return data.ToObjectFromJson<GenerationPreview>(s_json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
