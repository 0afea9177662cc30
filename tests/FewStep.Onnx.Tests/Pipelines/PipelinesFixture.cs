using System.Collections.Concurrent;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Tests.Pipelines;

/// <summary>The conformance models' pipelines on CPU, each loaded once for a test class.</summary>
public sealed class PipelinesFixture : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<DiffusionPipeline>> _pipelines = new(StringComparer.Ordinal);

    public OnnxSessionFactory Sessions { get; } = new(new OnnxExecutionOptions());

    public DiffusionPipeline Get(string model) =>
        _pipelines.GetOrAdd(model, name => new Lazy<DiffusionPipeline>(() => DiffusionPipeline.Load(ConformancePaths.Model(name), Sessions))).Value;

    public void Dispose()
    {
        foreach (var pipeline in _pipelines.Values.Where(p => p.IsValueCreated))
        {
            pipeline.Value.Dispose();
        }
    }
}
