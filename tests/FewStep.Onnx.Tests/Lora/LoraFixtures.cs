using static FewStep.Onnx.Tests.Lora.SafetensorsWriter;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>Small model layouts and LoRA tensors for the synthetic key tests.</summary>
internal static class LoraFixtures
{
    public const string Attn1 = "down_blocks.0.attentions.0.transformer_blocks.0.attn1";

    public static readonly string[] UnetPaths =
    [
        "down_blocks.0.attentions.0.proj_in",
        "down_blocks.0.attentions.0.proj_out",
        $"{Attn1}.to_q", $"{Attn1}.to_k", $"{Attn1}.to_v", $"{Attn1}.to_out.0",
        "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q",
        "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj",
        "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2",
        "down_blocks.0.resnets.0.conv1",
        "down_blocks.0.resnets.0.time_emb_proj",
        "down_blocks.0.downsamplers.0.conv",
        "mid_block.resnets.0.conv_shortcut",
        "up_blocks.0.upsamplers.0.conv",
        "time_embedding.linear_1",
    ];

    public static readonly string[] TextEncoderPaths = Enumerable.Range(0, 2)
        .SelectMany(i => new[] { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2" }
            .Select(p => $"text_model.encoder.layers.{i}.{p}"))
        .ToArray();

    public static TestLoraTargets Sd() =>
        TestLoraTargets.Of(false, 2, ("unet", UnetPaths), ("text_encoder", TextEncoderPaths));

    public static TestLoraTargets Sdxl() =>
        TestLoraTargets.Of(true, 2, ("unet", UnetPaths), ("text_encoder", TextEncoderPaths),
            ("text_encoder_2", [.. TextEncoderPaths, "text_projection"]));

    /// <summary>A Linear LoRA pair: down [rank, in], up [out, rank].</summary>
    public static SafetensorsEntry[] Linear(string downKey, string upKey, int rank = 2, int inFeatures = 4, int outFeatures = 3) =>
        [Ramp(downKey, rank, inFeatures), Ramp(upKey, outFeatures, rank)];

    /// <summary>A Conv LoRA pair: down [rank, in, 3, 3], up [out, rank, 1, 1].</summary>
    public static SafetensorsEntry[] Conv(string downKey, string upKey, int rank = 2) =>
        [Ramp(downKey, rank, 3, 3, 3), Ramp(upKey, 4, rank, 1, 1)];

    /// <summary>kohya's three keys of one layer (down, up, alpha) for <paramref name="name"/> (prefix and underscored path).</summary>
    public static SafetensorsEntry[] Kohya(string name, float alpha = 1f, int rank = 2) =>
        [.. Linear($"{name}.lora_down.weight", $"{name}.lora_up.weight", rank), F32($"{name}.alpha", [], alpha)];
}
