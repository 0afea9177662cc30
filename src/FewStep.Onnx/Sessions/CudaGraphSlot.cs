using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Sessions;

/// <summary>
/// One CUDA graph of a session (ONNX Runtime's <c>gpu_graph_id</c>): every input and output of one shape set,
/// allocated once in device memory and bound once, because a captured graph replays with the addresses it was
/// captured with. Generations of that shape fill the same tensors; it is never freed or given another shape, since
/// ONNX Runtime keeps the graph captured under its id for as long as the session lives.
/// </summary>
internal sealed class CudaGraphSlot : IDisposable
{
    private readonly Dictionary<string, DeviceTensor> _tensors = new(StringComparer.Ordinal);

    public CudaGraphSlot(OnnxModelSession session, int graphId, string shapes, IEnumerable<(string Name, OrtValue Like, bool IsOutput)> tensors)
    {
        GraphId = graphId;
        Shapes = shapes;
        Binding = session.CreateIoBinding();
        try
        {
            foreach (var (name, like, isOutput) in tensors)
            {
                var tensor = new DeviceTensor(session, like);
                _tensors.Add(name, tensor);
                if (isOutput)
                {
                    Binding.BindOutput(name, tensor.Value);
                }
                else
                {
                    Binding.BindInput(name, tensor.Value);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The run option <c>gpu_graph_id</c> this slot's runs carry: 1 and up (0 is ONNX Runtime's own, -1 means none).</summary>
    public int GraphId { get; }

    /// <summary>The names, element types and shapes bound, as one key.</summary>
    public string Shapes { get; }

    public OrtIoBinding Binding { get; }

    public DeviceTensor this[string name] => _tensors[name];

    public void Dispose()
    {
        Binding.Dispose();
        foreach (var tensor in _tensors.Values)
        {
            tensor.Dispose();
        }
    }
}
