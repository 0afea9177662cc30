namespace FewStep.Functions.Rendering;

/// <summary>Renders a batch of images to PNGs. The app uses the ONNX pipelines; tests use fakes.</summary>
public interface IImageRenderer
{
    Task<IReadOnlyList<RenderedImage>> RenderAsync(RenderJob job, CancellationToken cancellationToken);
}
