namespace FewStep.Onnx.Sessions;

/// <summary>
/// The CUDA graphs of one session, at most <see cref="Capacity"/>: one per shape set in use, and another of the
/// same shapes while the first is taken by a running generation. A generation holds its slot for its whole
/// denoising loop (its conditioning is uploaded into the slot once); when every slot that fits is taken and the
/// pool is full, the generation runs without a graph, as it would with graphs off.
/// </summary>
internal sealed class CudaGraphPool(int capacity) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<CudaGraphSlot> _slots = [];
    private readonly HashSet<CudaGraphSlot> _taken = [];

    public int Capacity { get; } = capacity;

    /// <summary>The graphs made so far.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _slots.Count;
            }
        }
    }

    /// <summary>A free slot for <paramref name="shapes"/>, a new one made by <paramref name="create"/> from the next id, or null when full.</summary>
    public CudaGraphSlot? Acquire(string shapes, Func<int, CudaGraphSlot> create)
    {
        lock (_gate)
        {
            var slot = _slots.FirstOrDefault(s => s.Shapes == shapes && !_taken.Contains(s));
            if (slot is null)
            {
                if (_slots.Count >= Capacity)
                {
                    return null;
                }

                slot = create(_slots.Count + 1);
                _slots.Add(slot);
            }

            _taken.Add(slot);
            return slot;
        }
    }

    public void Release(CudaGraphSlot slot)
    {
        lock (_gate)
        {
            _taken.Remove(slot);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _slots.ForEach(s => s.Dispose());
            _slots.Clear();
            _taken.Clear();
        }
    }
}
