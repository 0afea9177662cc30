using System.Diagnostics;
using FewStep.Onnx.Pipelines;

namespace FewStep.Onnx.Previews;

/// <summary>
/// Makes live previews while a generation denoises, within a budget: a preview is due after a step when at least
/// <c>interval</c> has passed since the last one, the step is not the last (the image itself comes next), and the
/// previews made so far plus this one (its cost estimated from the last) stay within <see cref="MaxShare"/> of the
/// denoising time so far. A fast generation therefore makes none, a slow one one per interval; the preview is made
/// on the denoising thread, so the budget is what bounds its cost.
/// </summary>
public sealed class PreviewingObserver : IPipelineObserver
{
    /// <summary>The most of the denoising time previews may take.</summary>
    public const double MaxShare = 0.02;

    private readonly LatentPreviewer _previewer;
    private readonly TimeSpan _interval;
    private readonly Action<DenoisingStep, PreviewImage> _onPreview;
    private readonly CancellationToken _cancellationToken;
    private long _start;
    private long _last;

    /// <param name="onPreview">Gets each preview (on the denoising thread: keep it short, e.g. hand it to a queue); its time counts as the preview's.</param>
    public PreviewingObserver(LatentPreviewer previewer, TimeSpan interval, Action<DenoisingStep, PreviewImage> onPreview, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(previewer);
        ArgumentNullException.ThrowIfNull(onPreview);
        _previewer = previewer;
        _interval = interval;
        _onPreview = onPreview;
        _cancellationToken = cancellationToken;
    }

    public int Made { get; private set; }

    /// <summary>Time spent making previews (and in the callback).</summary>
    public TimeSpan Spent { get; private set; }

    public void OnInitialLatents(ReadOnlyMemory<float> latents) => _start = Stopwatch.GetTimestamp();

    public void OnStep(DenoisingStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var now = Stopwatch.GetTimestamp();
        if (_start == 0)
        {
            _start = now;
            return;
        }

        if (step.Index >= step.Count - 1 || (Made > 0 && Stopwatch.GetElapsedTime(_last, now) < _interval))
        {
            return;
        }

        var denoising = Stopwatch.GetElapsedTime(_start, now) - Spent;
        if ((Spent + _previewer.LastCost).TotalMilliseconds > MaxShare * denoising.TotalMilliseconds)
        {
            return;
        }

        var image = _previewer.Render(step, _cancellationToken);
        _onPreview(step, image);
        var end = Stopwatch.GetTimestamp();
        var cost = Stopwatch.GetElapsedTime(now, end);
        _previewer.LastCost = cost;
        Spent += cost;
        Made++;
        _last = end;
    }
}
