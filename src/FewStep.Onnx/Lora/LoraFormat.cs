namespace FewStep.Onnx.Lora;

/// <summary>The key conventions a LoRA file is written in (a file may mix diffusers and PEFT keys).</summary>
public enum LoraFormat
{
    /// <summary>kohya / sd-scripts: <c>lora_unet_…</c>, <c>lora_te_…</c>, <c>lora_te1_/lora_te2_</c>, SGM block names.</summary>
    Kohya,

    /// <summary>PEFT: <c>unet.&lt;path&gt;.lora_A.weight</c> / <c>lora_B.weight</c>.</summary>
    Peft,

    /// <summary>diffusers: <c>…lora.down.weight</c>, <c>…lora_linear_layer.down.weight</c>, legacy <c>…to_q_lora.down.weight</c>.</summary>
    Diffusers,
}
