using FewStep.Functions.Rendering;

namespace FewStep.Functions.Tests.Support;

/// <summary>The app's renderer, holding its denoising thread after the first preview it reports until released.</summary>
internal sealed class HoldingRenderer(IImageRenderer inner, HoldingRenderer.Hold hold) : IImageRenderer
{
    public Task<IReadOnlyList<RenderedImage>> RenderAsync(RenderJob job, CancellationToken cancellationToken) =>
        inner.RenderAsync(job, cancellationToken);

    public Task<IReadOnlyList<RenderedImage>> RenderAsync(RenderJob job, IProgress<RenderPreview>? previews, CancellationToken cancellationToken) =>
        inner.RenderAsync(job, previews is null ? null : new Holding(previews, hold), cancellationToken);

    internal sealed class Hold
    {
        public TaskCompletionSource<RenderPreview> First { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Holding(IProgress<RenderPreview> sink, Hold hold) : IProgress<RenderPreview>
    {
        public void Report(RenderPreview value)
        {
            sink.Report(value);
            if (hold.First.TrySetResult(value))
            {
                hold.Release.Task.Wait(TimeSpan.FromSeconds(60));
            }
        }
    }
}
