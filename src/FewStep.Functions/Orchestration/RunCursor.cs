namespace FewStep.Functions.Orchestration;

/// <summary>
/// How far a run has got: carried from one orchestration execution to the next through continue-as-new. Only
/// the orchestrator changes it, and only from activity results, so replays rebuild it exactly.
/// </summary>
public sealed class RunCursor
{
    public int Requests { get; set; }

    public int Images { get; set; }

    public int Batches { get; set; }

    /// <summary>The first batch not yet scheduled.</summary>
    public int NextBatch { get; set; }

    /// <summary>Images stored so far (as the batches reported them).</summary>
    public int ImagesDone { get; set; }

    public double RenderMilliseconds { get; set; }

    /// <summary>A batch found the run's cancel marker: nothing more is scheduled.</summary>
    public bool Canceled { get; set; }

    /// <summary>Executions so far (1 for the first).</summary>
    public int Execution { get; set; } = 1;

    public List<BatchFailure> Failures { get; set; } = [];

    public static RunCursor Start(int requests, int images, int batches) => new() { Requests = requests, Images = images, Batches = batches };
}
