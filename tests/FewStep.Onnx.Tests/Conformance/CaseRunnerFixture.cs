using FewStep.Conformance;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Tests.Conformance;

/// <summary>One runner (pipelines loaded once per model) for all conformance cases.</summary>
public sealed class CaseRunnerFixture : IDisposable
{
    internal CaseRunner Runner { get; } = new(ConformancePaths.Models, new OnnxSessionFactory(new OnnxExecutionOptions()));

    public void Dispose() => Runner.Dispose();
}
