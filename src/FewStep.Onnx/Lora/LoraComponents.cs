namespace FewStep.Onnx.Lora;

/// <summary>The model components a LoRA can change, named as diffusers names the pipeline's modules.</summary>
public static class LoraComponents
{
    public const string Unet = "unet";

    public const string TextEncoder = "text_encoder";

    /// <summary>SDXL's second text encoder (CLIPTextModelWithProjection).</summary>
    public const string TextEncoder2 = "text_encoder_2";
}
