namespace FewStep.Onnx.Lora;

/// <summary>
/// One layer a LoRA file changes: the diffusers module path it targets (<c>down_blocks.0.attentions.0.proj_in</c>)
/// in one component (<c>unet</c>, <c>text_encoder</c>, <c>text_encoder_2</c>), its down and up matrices and alpha.
/// Linear: down [rank, in], up [out, rank]. Conv: down [rank, in, kh, kw], up [out, rank, 1, 1].
/// </summary>
public sealed record LoraLayer(string Component, string ModulePath, LoraTensor Down, LoraTensor Up, float? Alpha)
{
    public int Rank => Down.Shape[0];

    /// <summary>diffusers' alpha / rank: alpha = rank when the file stores none (PEFT and diffusers formats).</summary>
    public float AlphaOverRank => (Alpha ?? Rank) / Rank;
}
