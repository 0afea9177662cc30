namespace FewStep.Functions.Rendering;

/// <summary>Renders a batch of images to PNGs. The app uses the ONNX pipelines; tests use fakes.</summary>
public interface IImageRenderer
{
    Task<IReadOnlyList<RenderedImage>> RenderAsync(RenderJob job, CancellationToken cancellationToken);

    /// <summary>
    /// Renders and reports previews of the first image while it runs (at most once per
    /// <see cref="Options.FewStepOptions.PreviewInterval"/>); a renderer that makes none ignores <paramref name="previews"/>.
    /// </summary>
    Task<IReadOnlyList<RenderedImage>> RenderAsync(RenderJob job, IProgress<RenderPreview>? previews, CancellationToken cancellationToken) =>
        RenderAsync(job, cancellationToken);
}
