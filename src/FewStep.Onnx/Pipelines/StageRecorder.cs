using System.Diagnostics;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Pipelines;

/// <summary>Records each stage's wall time and ONNX Runtime time for <see cref="GenerationTimings"/>.</summary>
internal sealed class StageRecorder
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly List<StageTiming> _stages = [];

    /// <summary>A stage: dispose the returned scope when it ends. Pass its clock to the ONNX runs inside it.</summary>
    public Scope Begin(string stage) => new(this, stage);

    public GenerationTimings Finish() => new(_stages, Stopwatch.GetElapsedTime(_start));

    internal readonly struct Scope : IDisposable
    {
        private readonly StageRecorder _owner;
        private readonly string _stage;
        private readonly long _start;

        public Scope(StageRecorder owner, string stage)
        {
            _owner = owner;
            _stage = stage;
            _start = Stopwatch.GetTimestamp();
            Clock = new OnnxRunClock();
        }

        public OnnxRunClock Clock { get; }

        public void Dispose() => _owner._stages.Add(new StageTiming(_stage, Stopwatch.GetElapsedTime(_start), Clock.Elapsed));
    }
}
