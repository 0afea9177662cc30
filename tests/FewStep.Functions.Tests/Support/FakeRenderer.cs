using System.Diagnostics;
using FewStep.Functions.Rendering;

namespace FewStep.Functions.Tests.Support;

/// <summary>
/// A renderer that makes no pixels: each image is a few bytes naming it. Records every job with when it started,
/// can take a while per batch (honouring cancellation, as the pipeline does between steps), and can fail the
/// first N calls with a given exception (to exercise retries).
/// </summary>
internal sealed class FakeRenderer : IImageRenderer
{
    private int _calls;

    public ConcurrentBagList<RenderJob> Jobs { get; } = new();

    /// <summary>Each call's start: the job and the time since <see cref="Clock"/> began.</summary>
    public ConcurrentBagList<(RenderJob Job, TimeSpan At)> Starts { get; } = new();

    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>When set, calls up to <see cref="FailFirst"/> throw what it makes.</summary>
    public Func<Exception>? Failure { get; set; }

    public int FailFirst { get; set; } = int.MaxValue;

    /// <summary>How long one batch takes (in steps of <see cref="Step"/>, checking cancellation between them).</summary>
    public TimeSpan Delay { get; set; }

    public TimeSpan Step { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>When set, every call waits for it before rendering (a batch that hangs).</summary>
    public Task? Gate { get; set; }

    public int Calls => Volatile.Read(ref _calls);

    public async Task<IReadOnlyList<RenderedImage>> RenderAsync(RenderJob job, CancellationToken cancellationToken)
    {
        Jobs.Add(job);
        Starts.Add((job, Clock.Elapsed));
        if (Interlocked.Increment(ref _calls) <= FailFirst && Failure is not null)
        {
            throw Failure();
        }

        if (Gate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        for (var waited = TimeSpan.Zero; waited < Delay; waited += Step)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Delay(Step, cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return job.Items
            .Select(item => new RenderedImage(item, BinaryData.FromString($"png {item.PromptIndex}-{item.ImageIndex} seed {item.Seed}")))
            .ToList();
    }
}

/// <summary>A thread-safe list (activities run in parallel).</summary>
internal sealed class ConcurrentBagList<T>
{
    private readonly List<T> _items = [];
    private readonly Lock _gate = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _items.Count;
            }
        }
    }

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
