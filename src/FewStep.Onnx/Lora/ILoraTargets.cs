namespace FewStep.Onnx.Lora;

/// <summary>
/// What a model offers a LoRA: its components and, per component, the diffusers module paths of the layers whose
/// weight can be merged (read from the ONNX graph). Key parsing matches against
/// these paths because kohya keys write every <c>.</c> as <c>_</c> and cannot be turned back blindly.
/// </summary>
public interface ILoraTargets
{
    /// <summary>The components present: <c>unet</c>, <c>text_encoder</c>, and for SDXL <c>text_encoder_2</c>.</summary>
    IReadOnlyCollection<string> Components { get; }

    /// <summary>True for an SDXL pipeline (two text encoders, SGM block names in kohya files).</summary>
    bool IsSdxl { get; }

    /// <summary>The UNet's <c>layers_per_block</c> (diffusers' default 2), for kohya's SGM block names.</summary>
    int LayersPerBlock { get; }

    /// <summary>Module paths with a mergeable weight in <paramref name="component"/> (empty for a component not present).</summary>
    IReadOnlySet<string> ModulePaths(string component);
}
