using FewStep.Functions.Contracts;

namespace FewStep.Functions.Storage;

/// <summary>The finished images under a prefix, each with a fresh read-only URL.</summary>
public static class ImageLinks
{
    public static async Task<IReadOnlyList<ImageLink>> ListAsync(IImageStore store, string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var images = await store.ListImagesAsync(prefix, cancellationToken).ConfigureAwait(false);
        if (images.Count == 0)
        {
            return [];
        }

        var urls = await store.GetReadUrisAsync(images.Select(i => i.Blob).ToList(), cancellationToken).ConfigureAwait(false);
        return images.Select((image, k) => new ImageLink(image.PromptIndex, image.ImageIndex, image.Seed, urls[k].AbsoluteUri, image.Blob)).ToList();
    }
}
