using FewStep.Functions.Rendering;

namespace FewStep.Functions.Tests.Support;

/// <summary>
/// A renderer that makes no pixels: each image is a few bytes naming it. Records every job, and can fail the
/// first N calls with a given exception (to exercise retries).
/// </summary>
internal sealed class FakeRenderer : IImageRenderer
{
    private int _calls;

    public ConcurrentBagList<RenderJob> Jobs { get; } = new();

    /// <summary>When set, calls up to <see cref="FailFirst"/> throw what it makes.</summary>
    public Func<Exception>? Failure { get; set; }

    public int FailFirst { get; set; } = int.MaxValue;

    public int Calls => Volatile.Read(ref _calls);

    public Task<IReadOnlyList<RenderedImage>> RenderAsync(RenderJob job, CancellationToken cancellationToken)
    {
        Jobs.Add(job);
        if (Interlocked.Increment(ref _calls) <= FailFirst && Failure is not null)
        {
            throw Failure();
        }

        IReadOnlyList<RenderedImage> images = job.Items
            .Select(item => new RenderedImage(item, BinaryData.FromString($"png {item.PromptIndex}-{item.ImageIndex} seed {item.Seed}")))
            .ToList();
        return Task.FromResult(images);
    }
}

/// <summary>A thread-safe list (activities run in parallel).</summary>
internal sealed class ConcurrentBagList<T>
{
    private readonly List<T> _items = [];
    private readonly Lock _gate = new();

    public void Add(T item)
    {
        lock (_gate)
        {
            _items.Add(item);
        }
    }

    public IReadOnlyList<T> Snapshot()
    {
        lock (_gate)
        {
            return [.. _items];
        }
    }
}
