namespace FewStep.Onnx.Pipelines;

/// <summary>
/// A pipeline borrowed from a <see cref="PipelineCache"/> for one or more generations. Dispose it when done: a LoRA
/// variant evicted while borrowed is disposed only after its last lease ends.
/// </summary>
public sealed class PipelineLease : IDisposable
{
    private Action? _release;

    internal PipelineLease(ITextToImagePipeline pipeline, Action release)
    {
        Pipeline = pipeline;
        _release = release;
    }

    public ITextToImagePipeline Pipeline { get; }

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}
