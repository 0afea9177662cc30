using System.Diagnostics;

namespace FewStep.Onnx.Sessions;

/// <summary>Adds up the time spent inside ONNX Runtime <c>Run</c> calls, for one stage of one generation.</summary>
public sealed class OnnxRunClock
{
    private long _ticks;
    private int _runs;

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks));

    public int Runs => Volatile.Read(ref _runs);

    internal void Add(long startTimestamp)
    {
        Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - startTimestamp);
        Interlocked.Increment(ref _runs);
    }
}
