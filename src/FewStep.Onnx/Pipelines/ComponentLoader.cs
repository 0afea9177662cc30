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

    /// <summary>
    /// True when the components run on different providers: CUDA became unusable part-way through loading (one
    /// component fell back to CPU after others were placed on the GPU). A pipeline split that way would copy every
    /// tensor between host and device at each hand-over, so it is loaded again, all on one provider.
    /// </summary>
    public bool SplitAcrossProviders =>
        _created.OfType<Sessions.IOnnxComponent>().Select(c => c.Session.Provider).Distinct().Count() > 1;

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

        _created.Clear();
    }
}
