using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Sessions;

/// <summary>
/// The inputs and outputs of one generation's calls to a session, bound once with <see cref="OrtIoBinding"/>.
/// On CUDA the constant conditioning (encoder states, pooled embeddings, time ids, masks) is copied to device memory
/// once per generation and stays there for the whole denoising loop. The per-step sample, the timestep and the
/// output stay bound as host tensors, so ONNX Runtime copies the sample to the device and the output back once per step: two copies
/// of the latents (at 512² and batch 4, 256 KB each way), against which moving the scheduler step onto the device
/// would save nothing worth a kernel. On CPU every tensor is the pipeline's own memory and nothing is copied.
/// </summary>
/// <remarks>
/// With CUDA graphs (<see cref="OnnxModelSession.CudaGraphs"/>) nothing is bound until the first run: then every
/// tensor is known, and the generation takes a <see cref="CudaGraphSlot"/> of their shapes, whose device tensors
/// keep the addresses its graph was captured with. The conditioning is uploaded into it on the first run, the
/// sample and timestep before every run and the output read back after it: the same copies ONNX Runtime makes
/// for host-bound tensors, made by hand because a captured graph cannot make them.
/// </remarks>
internal sealed class DeviceBinding : IDisposable
{
    private readonly OnnxModelSession _session;
    private readonly CudaGraphPool? _graphs;
    private readonly List<IDisposable> _owned = [];
    private readonly List<Bound> _bound = [];
    private OrtIoBinding? _binding;
    private CudaGraphSlot? _slot;
    private bool _conditioningUploaded;

    public DeviceBinding(OnnxModelSession session)
    {
        _session = session;
        _graphs = session.CudaGraphs;
        if (_graphs is null)
        {
            _binding = session.CreateIoBinding();
        }
    }

    private enum Role
    {
        Constant,
        Input,
        Output,
    }

    /// <summary>Whether constants live in device memory (CUDA) rather than in the pipeline's arrays (CPU).</summary>
    public bool OnDevice => _session.Provider == ExecutionProviderKind.Cuda;

    /// <summary>The CUDA graph this generation's runs replay (1 and up), or null when they run without one.</summary>
    public int? GraphId => _slot?.GraphId;

    /// <summary>Binds a value that does not change during the generation; on CUDA, a device copy of it.</summary>
    public void BindConstant(string name, OrtValue host)
    {
        if (_binding is null)
        {
            Keep(name, host, Role.Constant);
        }
        else if (!OnDevice)
        {
            _binding.BindInput(name, host);
        }
        else
        {
            var device = new DeviceTensor(_session, host);
            _owned.Add(device);
            device.Upload(host);
            _binding.BindInput(name, device.Value);
        }
    }

    /// <summary>Binds a host tensor the pipeline rewrites between runs (the sample, the timestep).</summary>
    public void BindInput(string name, OrtValue host)
    {
        if (_binding is null)
        {
            Keep(name, host, Role.Input);
        }
        else
        {
            _binding.BindInput(name, host);
        }
    }

    /// <summary>Binds a host tensor ONNX Runtime writes the output into.</summary>
    public void BindOutput(string name, OrtValue host)
    {
        if (_binding is null)
        {
            Keep(name, host, Role.Output);
        }
        else
        {
            _binding.BindOutput(name, host);
        }
    }

    public void Run(OnnxRunClock? clock, CancellationToken cancellationToken)
    {
        // No binding yet means graphs are on (see the constructor): the first run takes a slot, or binds without one.
        if (_binding is null)
        {
            _slot ??= TakeSlot();
            if (_slot is not null)
            {
                RunInSlot(_slot, clock, cancellationToken);
                return;
            }

            BindWithoutGraph();
        }

        _session.Run(_binding!, clock, cancellationToken);
    }

    public void Dispose()
    {
        if (_slot is not null)
        {
            _graphs!.Release(_slot);
            _slot = null;
        }

        _binding?.Dispose();
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    // A slot of this generation's shapes from the session's pool, or null when the pool is full.
    private CudaGraphSlot? TakeSlot()
    {
        var shapes = Shapes();
        return _graphs!.Acquire(shapes, id => new CudaGraphSlot(_session, id, shapes, _bound.Select(b => (b.Name, b.Host, b.Role == Role.Output))));
    }

    private void RunInSlot(CudaGraphSlot slot, OnnxRunClock? clock, CancellationToken cancellationToken)
    {
        foreach (var bound in _bound)
        {
            if (bound.Role == Role.Input || (bound.Role == Role.Constant && !_conditioningUploaded))
            {
                slot[bound.Name].Upload(bound.Host);
            }
        }

        _conditioningUploaded = true;
        _session.Run(slot.Binding, clock, cancellationToken, slot.GraphId);
        foreach (var bound in _bound.Where(b => b.Role == Role.Output))
        {
            slot[bound.Name].Download(bound.Host);
        }
    }

    // Every graph that fits is taken and the pool is full: this generation binds as it would with graphs off.
    private void BindWithoutGraph()
    {
        _binding = _session.CreateIoBinding();
        foreach (var bound in _bound)
        {
            switch (bound.Role)
            {
                case Role.Constant:
                    BindConstant(bound.Name, bound.Host);
                    break;
                case Role.Input:
                    BindInput(bound.Name, bound.Host);
                    break;
                default:
                    BindOutput(bound.Name, bound.Host);
                    break;
            }
        }

        _bound.Clear();
    }

    // A tensor rebound under the same name (the timestep, each step) replaces the one before.
    private void Keep(string name, OrtValue host, Role role)
    {
        var index = _bound.FindIndex(b => b.Name == name);
        if (index >= 0)
        {
            _bound[index] = new Bound(name, host, role);
        }
        else
        {
            _bound.Add(new Bound(name, host, role));
        }
    }

    private string Shapes() => string.Join(";", _bound.OrderBy(b => b.Name, StringComparer.Ordinal).Select(b =>
    {
        var info = b.Host.GetTensorTypeAndShape();
        return $"{b.Name}:{info.ElementDataType}[{string.Join(",", info.Shape)}]";
    }));

    private readonly record struct Bound(string Name, OrtValue Host, Role Role);
}
