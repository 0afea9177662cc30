using FewStep.Functions.Options;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Queueing;

/// <summary>
/// The GPU of this worker process: at most <see cref="FewStepOptions.MaxConcurrentRenders"/> batches render at
/// once, and when a slot frees the waiting batch of the run served least recently goes next (round-robin across
/// runs, first come first served within one). With each run holding at most its render window of batches, a
/// one-image request behind a 2,000-image one waits for the batch rendering now, not for the 2,000.
/// Round-robin rather than smallest-remaining-first, which would starve a large run under a stream of small ones.
/// Written here rather than taken from a library: .NET's SemaphoreSlim and channels are FIFO, and no kept
/// package offers a keyed fair semaphore.
/// </summary>
public sealed class FairRenderGate
{
    private const int MaxRemembered = 4096;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<Waiter>> _waiting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastServed = new(StringComparer.Ordinal);
    private int _free;
    private long _clock;

    public FairRenderGate(IOptions<FewStepOptions> options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value.MaxConcurrentRenders)
    {
    }

    public FairRenderGate(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        Slots = slots;
        _free = slots;
    }

    public int Slots { get; }

    /// <summary>Batches waiting for a slot now.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Values.Sum(q => q.Count);
            }
        }
    }

    /// <summary>Waits for a slot for a batch of run <paramref name="owner"/>; dispose the lease to free it.</summary>
    public Task<IDisposable> AcquireAsync(string owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_gate)
        {
            if (_free > 0 && _waiting.Count == 0)
            {
                _free--;
                _lastServed[owner] = ++_clock;
                return Task.FromResult<IDisposable>(new Lease(this));
            }

            waiter = new Waiter(owner, ++_clock);
            if (!_waiting.TryGetValue(owner, out var queue))
            {
                _waiting[owner] = queue = new Queue<Waiter>();
            }

            queue.Enqueue(waiter);
            Dispatch();
        }

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() => Abandon(waiter, cancellationToken));
            lock (_gate)
            {
                if (waiter.Completion.Task.IsCompleted)
                {
                    registration.Unregister();
                }
                else
                {
                    waiter.Registration = registration;
                }
            }
        }

        return waiter.Completion.Task;
    }

    private void Abandon(Waiter waiter, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (waiter.Completion.Task.IsCompleted)
            {
                return;
            }

            if (_waiting.TryGetValue(waiter.Owner, out var queue))
            {
                var rest = queue.Where(w => !ReferenceEquals(w, waiter)).ToList();
                if (rest.Count == 0)
                {
                    _waiting.Remove(waiter.Owner);
                }
                else
                {
                    _waiting[waiter.Owner] = new Queue<Waiter>(rest);
                }
            }

            waiter.Completion.TrySetCanceled(cancellationToken);
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            _free++;
            Dispatch();
        }
    }

    // Under the lock: hand free slots to the waiting runs served least recently.
    private void Dispatch()
    {
        while (_free > 0 && _waiting.Count > 0)
        {
            string? next = null;
            var nextServed = long.MaxValue;
            var nextArrival = long.MaxValue;
            foreach (var (owner, queue) in _waiting)
            {
                var served = _lastServed.GetValueOrDefault(owner, 0);
                var arrival = queue.Peek().Arrival;
                if (served < nextServed || (served == nextServed && arrival < nextArrival))
                {
                    (next, nextServed, nextArrival) = (owner, served, arrival);
                }
            }

            var waiters = _waiting[next!];
            var waiter = waiters.Dequeue();
            if (waiters.Count == 0)
            {
                _waiting.Remove(next!);
            }

            _free--;
            _lastServed[next!] = ++_clock;
            Forget();
            // Unregister, not Dispose: Dispose would wait for a running Abandon, which waits for this lock.
            waiter.Registration.Unregister();
            if (!waiter.Completion.TrySetResult(new Lease(this)))
            {
                _free++;
            }
        }
    }

    // Keeps the service history bounded: forget the runs served longest ago that wait for nothing.
    private void Forget()
    {
        if (_lastServed.Count <= MaxRemembered)
        {
            return;
        }

        foreach (var owner in _lastServed.Where(e => !_waiting.ContainsKey(e.Key)).OrderBy(e => e.Value).Take(_lastServed.Count - (MaxRemembered / 2)).Select(e => e.Key).ToList())
        {
            _lastServed.Remove(owner);
        }
    }

    private sealed class Waiter(string owner, long arrival)
    {
        public string Owner { get; } = owner;

        public long Arrival { get; } = arrival;

        // Run continuations off the lock: a batch that gets its slot starts rendering on its own thread.
        public TaskCompletionSource<IDisposable> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }
    }

    private sealed class Lease(FairRenderGate owner) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release();
            }
        }
    }
}
