using FewStep.Onnx.Lora;
using static FewStep.Onnx.Tests.Lora.LoraFixtures;
using static FewStep.Onnx.Tests.Lora.SafetensorsWriter;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// Every key format maps onto the diffusers module path diffusers maps it to: kohya (with paths whose own
/// underscores must not be read as dots), PEFT, diffusers and the legacy attention processors, alone and mixed.
/// </summary>
public sealed class LoraKeyFormatTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-lorakeys-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Kohya_keys_resolve_against_the_models_paths_with_their_alphas()
    {
        var path = Write(Path.Combine(_temp, "kohya.safetensors"),
        [
            .. Kohya("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0", alpha: 1f, rank: 4),
            .. Kohya("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_ff_net_0_proj", alpha: 8f),
            .. Kohya("lora_unet_down_blocks_0_resnets_0_time_emb_proj", alpha: 2f),
            .. Conv("lora_unet_down_blocks_0_downsamplers_0_conv.lora_down.weight", "lora_unet_down_blocks_0_downsamplers_0_conv.lora_up.weight"),
            .. Kohya("lora_te_text_model_encoder_layers_1_self_attn_out_proj", alpha: 0.5f),
        ], new Dictionary<string, string> { ["ss_network_dim"] = "2" });

        var lora = LoraFileReader.Read(path, Sd());

        Assert.Equal(
        [
            ("unet", $"{Attn1}.to_out.0", 1f, 0.25f),
            ("unet", "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj", 8f, 4f),
            ("unet", "down_blocks.0.resnets.0.time_emb_proj", 2f, 1f),
            ("unet", "down_blocks.0.downsamplers.0.conv", (float?)null, 1f),
            ("text_encoder", "text_model.encoder.layers.1.self_attn.out_proj", 0.5f, 0.25f),
        ], lora.Layers.Select(l => (l.Component, l.ModulePath, l.Alpha, l.AlphaOverRank)));
        Assert.Equal([LoraFormat.Kohya], lora.Formats);
        Assert.Equal("2", lora.Metadata["ss_network_dim"]);
        Assert.Equal(path, lora.Path);
        Assert.Equal(64, lora.Sha256.Length);
    }

    [Fact]
    public void Kohya_sdxl_keys_name_the_two_text_encoders()
    {
        var path = Write(Path.Combine(_temp, "kohya-xl.safetensors"),
        [
            .. Kohya("lora_te1_text_model_encoder_layers_0_self_attn_q_proj"),
            .. Kohya("lora_te2_text_model_encoder_layers_0_self_attn_q_proj"),
            .. Kohya("lora_te2_text_projection"),
            .. Kohya("lora_unet_time_embedding_linear_1"),
        ]);

        var lora = LoraFileReader.Read(path, Sdxl());

        Assert.Equal(
        [
            ("text_encoder", "text_model.encoder.layers.0.self_attn.q_proj"),
            ("text_encoder_2", "text_model.encoder.layers.0.self_attn.q_proj"),
            ("text_encoder_2", "text_projection"),
            ("unet", "time_embedding.linear_1"),
        ], lora.Layers.Select(l => (l.Component, l.ModulePath)));
    }

    [Fact]
    public void Peft_keys_carry_no_alpha_so_alpha_is_the_rank()
    {
        var path = Write(Path.Combine(_temp, "peft.safetensors"),
        [
            .. Linear($"unet.{Attn1}.to_q.lora_A.weight", $"unet.{Attn1}.to_q.lora_B.weight", rank: 4),
            .. Linear($"unet.{Attn1}.to_out.0.lora_A.weight", $"unet.{Attn1}.to_out.0.lora_B.weight", rank: 2),
            .. Linear("text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_A.weight", "text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_B.weight"),
            .. Linear("text_encoder_2.text_projection.lora_A.weight", "text_encoder_2.text_projection.lora_B.weight"),
        ]);

        var lora = LoraFileReader.Read(path, Sdxl());

        Assert.Equal(
        [
            ("unet", $"{Attn1}.to_q", 4),
            ("unet", $"{Attn1}.to_out.0", 2),
            ("text_encoder", "text_model.encoder.layers.0.mlp.fc1", 2),
            ("text_encoder_2", "text_projection", 2),
        ], lora.Layers.Select(l => (l.Component, l.ModulePath, l.Rank)));
        Assert.All(lora.Layers, l => Assert.Null(l.Alpha));
        Assert.All(lora.Layers, l => Assert.Equal(1f, l.AlphaOverRank));
        Assert.Equal([LoraFormat.Peft], lora.Formats);
    }

    [Fact]
    public void Diffusers_keys_mix_with_peft_keys_in_one_file()
    {
        var path = Write(Path.Combine(_temp, "diffusers.safetensors"),
        [
            .. Linear($"unet.{Attn1}.to_k.lora.down.weight", $"unet.{Attn1}.to_k.lora.up.weight"),
            .. Linear("unet.down_blocks.0.attentions.0.proj_in.lora_A.weight", "unet.down_blocks.0.attentions.0.proj_in.lora_B.weight"),
            .. Linear("text_encoder.text_model.encoder.layers.1.self_attn.q_proj.lora_linear_layer.down.weight",
                "text_encoder.text_model.encoder.layers.1.self_attn.q_proj.lora_linear_layer.up.weight"),
            .. Conv("unet.down_blocks.0.resnets.0.conv1.lora_A.weight", "unet.down_blocks.0.resnets.0.conv1.lora_B.weight"),
        ]);

        var lora = LoraFileReader.Read(path, Sd());

        Assert.Equal(
        [
            ("unet", $"{Attn1}.to_k"),
            ("unet", "down_blocks.0.attentions.0.proj_in"),
            ("text_encoder", "text_model.encoder.layers.1.self_attn.q_proj"),
            ("unet", "down_blocks.0.resnets.0.conv1"),
        ], lora.Layers.Select(l => (l.Component, l.ModulePath)));
        Assert.Equal([LoraFormat.Peft, LoraFormat.Diffusers], lora.Formats.Order());
        Assert.Equal([2, 3, 3, 3], lora.Layers[3].Down.Shape);
    }

    [Fact]
    public void A_diffusers_alpha_key_is_that_layers_alpha()
    {
        var path = Write(Path.Combine(_temp, "alpha.safetensors"),
            [.. Linear($"unet.{Attn1}.to_v.lora.down.weight", $"unet.{Attn1}.to_v.lora.up.weight", rank: 4), F32($"unet.{Attn1}.to_v.alpha", [], 2f)]);

        var layer = Assert.Single(LoraFileReader.Read(path, Sd()).Layers);

        Assert.Equal(0.5f, layer.AlphaOverRank);
    }

    [Theory]
    [InlineData("to_q_lora", "to_q")]
    [InlineData("to_k_lora", "to_k")]
    [InlineData("to_v_lora", "to_v")]
    [InlineData("to_out_lora", "to_out.0")]
    public void Legacy_unet_processor_keys_name_the_attention_projections(string processor, string projection)
    {
        var path = Write(Path.Combine(_temp, "legacy-unet.safetensors"),
            Linear($"unet.{Attn1}.processor.{processor}.down.weight", $"unet.{Attn1}.processor.{processor}.up.weight"));

        var lora = LoraFileReader.Read(path, Sd());

        Assert.Equal(("unet", $"{Attn1}.{projection}"), (lora.Layers[0].Component, lora.Layers[0].ModulePath));
        Assert.Equal([LoraFormat.Diffusers], lora.Formats);
    }

    [Theory]
    [InlineData("to_q_lora", "q_proj")]
    [InlineData("to_k_lora", "k_proj")]
    [InlineData("to_v_lora", "v_proj")]
    [InlineData("to_out_lora", "out_proj")]
    public void Legacy_text_encoder_processor_keys_name_clips_projections(string processor, string projection)
    {
        var layer = "text_encoder.text_model.encoder.layers.0.self_attn";
        var path = Write(Path.Combine(_temp, "legacy-te.safetensors"),
            Linear($"{layer}.{processor}.down.weight", $"{layer}.{processor}.up.weight"));

        var lora = LoraFileReader.Read(path, Sd());

        Assert.Equal(("text_encoder", $"text_model.encoder.layers.0.self_attn.{projection}"), (lora.Layers[0].Component, lora.Layers[0].ModulePath));
    }

    [Fact]
    public void Half_and_bfloat16_weights_are_widened_exactly()
    {
        var name = "lora_unet_down_blocks_0_attentions_0_proj_out";
        var path = Write(Path.Combine(_temp, "narrow.safetensors"),
        [
            F16($"{name}.lora_down.weight", [2, 2], 0.1f, -0.2f, 0.3f, 1e-6f),
            BF16($"{name}.lora_up.weight", [1, 2], 0.5f, -1.25f),
            F16($"{name}.alpha", [], 1.5f),
        ]);

        var layer = Assert.Single(LoraFileReader.Read(path, Sd()).Layers);

        Assert.Equal([(float)(Half)0.1f, (float)(Half)(-0.2f), (float)(Half)0.3f, (float)(Half)1e-6f], layer.Down.Data);
        Assert.Equal([0.5f, -1.25f], layer.Up.Data);
        Assert.Equal(1.5f, layer.Alpha);
    }

    [Fact]
    public void Underscores_of_the_models_own_names_are_kept()
    {
        // Paths that differ only where one has '.' and the other '_' resolve as long as the key names only one.
        var targets = TestLoraTargets.Of(false, 2, ("unet", ["blocks.0.to_q", "blocks.0.to.q_proj", "time_emb_proj"]));
        var path = Write(Path.Combine(_temp, "underscores.safetensors"),
            [.. Kohya("lora_unet_blocks_0_to_q"), .. Kohya("lora_unet_time_emb_proj")]);

        Assert.Equal(["blocks.0.to_q", "time_emb_proj"], LoraFileReader.Read(path, targets).Layers.Select(l => l.ModulePath));
    }
}
