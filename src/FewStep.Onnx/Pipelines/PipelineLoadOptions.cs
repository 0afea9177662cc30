using FewStep.Onnx.Lora;

namespace FewStep.Onnx.Pipelines;

/// <summary>How a model folder is turned into a pipeline beyond what the folder says: LoRAs merged into its weights.</summary>
public sealed record PipelineLoadOptions
{
    public static PipelineLoadOptions None { get; } = new();

    /// <summary>Merged in order into the UNet and text encoders before their sessions are created.</summary>
    public IReadOnlyList<LoraSpec> Loras { get; init; } = [];
}
