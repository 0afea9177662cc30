using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Sessions;

/// <summary>How sessions are created: execution provider, GPU, threads. Bound from configuration by the hosts.</summary>
public sealed class OnnxExecutionOptions
{
    public const string SectionName = "Onnx";

    /// <summary>CUDA when configured and usable; otherwise CPU with a warning that says why.</summary>
    public ExecutionProviderKind ExecutionProvider { get; set; } = ExecutionProviderKind.Cpu;

    /// <summary>CUDA device ordinal.</summary>
    public int DeviceId { get; set; }

    /// <summary>When CUDA cannot be used, run on CPU (true) or fail (false).</summary>
    public bool FallBackToCpu { get; set; } = true;

    /// <summary>Threads per operator on CPU; 0 lets ONNX Runtime choose (one per physical core).</summary>
    public int IntraOpNumThreads { get; set; }

    public GraphOptimizationLevel GraphOptimizationLevel { get; set; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>Problems with these options, each naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(ExecutionProvider))
        {
            errors.Add($"{SectionName}:{nameof(ExecutionProvider)} must be Cpu or Cuda, not '{ExecutionProvider}'.");
        }

        if (DeviceId < 0)
        {
            errors.Add($"{SectionName}:{nameof(DeviceId)} must be 0 or more, not {DeviceId}.");
        }

        if (IntraOpNumThreads < 0)
        {
            errors.Add($"{SectionName}:{nameof(IntraOpNumThreads)} must be 0 (automatic) or more, not {IntraOpNumThreads}.");
        }

        if (!Enum.IsDefined(GraphOptimizationLevel))
        {
            errors.Add($"{SectionName}:{nameof(GraphOptimizationLevel)} '{GraphOptimizationLevel}' is not an ONNX Runtime level.");
        }

        return errors;
    }
}
