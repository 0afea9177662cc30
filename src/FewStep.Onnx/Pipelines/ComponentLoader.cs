namespace FewStep.Onnx.Pipelines;

/// <summary>Collects the sessions a pipeline creates while loading, so a failure part-way disposes those made so far.</summary>
internal sealed class ComponentLoader : IDisposable
{
    private readonly List<IDisposable> _created = [];
    private bool _kept;

    public T Add<T>(T component)
        where T : IDisposable
    {
        _created.Add(component);
        return component;
    }

    /// <summary>Loading succeeded: the pipeline owns the components now.</summary>
    public void Keep() => _kept = true;

    public void Dispose()
    {
        if (_kept)
        {
            return;
        }

        foreach (var component in _created)
        {
            component.Dispose();
        }
    }
}
