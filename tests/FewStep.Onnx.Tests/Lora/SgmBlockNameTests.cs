using FewStep.Diffusion;
using FewStep.Onnx.Lora;
using static FewStep.Onnx.Tests.Lora.LoraFixtures;
using static FewStep.Onnx.Tests.Lora.SafetensorsWriter;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// kohya SDXL files with the original SGM block names: with layers_per_block 1 on the layers of the real tiny
/// SDXL export (the conformance README's worked example), and with SDXL's own layers_per_block 2 on its layout.
/// </summary>
public sealed class SgmBlockNameTests : IDisposable
{
    private static readonly Lazy<TestLoraTargets> s_tinySdxl = new(() => OnnxLayerPaths.Targets(ConformancePaths.Model("tiny-sdxl-lightning")));

    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-sgm-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData("input_blocks_1_0_in_layers_2", "down_blocks.0.resnets.0.conv1")]
    [InlineData("input_blocks_1_0_emb_layers_1", "down_blocks.0.resnets.0.time_emb_proj")]
    [InlineData("input_blocks_2_0_op", "down_blocks.0.downsamplers.0.conv")]
    [InlineData("input_blocks_3_0_skip_connection", "down_blocks.1.resnets.0.conv_shortcut")]
    [InlineData("input_blocks_3_0_out_layers_3", "down_blocks.1.resnets.0.conv2")]
    [InlineData("input_blocks_3_1_proj_in", "down_blocks.1.attentions.0.proj_in")]
    [InlineData("input_blocks_3_1_transformer_blocks_1_attn2_to_k", "down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k")]
    [InlineData("input_blocks_3_1_transformer_blocks_0_attn1_to_out_0", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0")]
    [InlineData("input_blocks_3_1_transformer_blocks_0_ff_net_0_proj", "down_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj")]
    [InlineData("middle_block_0_emb_layers_1", "mid_block.resnets.0.time_emb_proj")]
    [InlineData("middle_block_1_proj_out", "mid_block.attentions.0.proj_out")]
    [InlineData("middle_block_2_out_layers_3", "mid_block.resnets.1.conv2")]
    [InlineData("output_blocks_0_0_in_layers_2", "up_blocks.0.resnets.0.conv1")]
    [InlineData("output_blocks_0_1_proj_in", "up_blocks.0.attentions.0.proj_in")]
    [InlineData("output_blocks_1_1_transformer_blocks_1_attn1_to_v", "up_blocks.0.attentions.1.transformer_blocks.1.attn1.to_v")]
    [InlineData("output_blocks_1_2_conv", "up_blocks.0.upsamplers.0.conv")]
    [InlineData("output_blocks_2_0_skip_connection", "up_blocks.1.resnets.0.conv_shortcut")]
    [InlineData("output_blocks_3_0_out_layers_3", "up_blocks.1.resnets.1.conv2")]
    [InlineData("input_blocks_0_0", "conv_in")]
    [InlineData("out_2", "conv_out")]
    [InlineData("time_embed_0", "time_embedding.linear_1")]
    [InlineData("time_embed_2", "time_embedding.linear_2")]
    [InlineData("label_emb_0_0", "add_embedding.linear_1")]
    [InlineData("label_emb_0_2", "add_embedding.linear_2")]
    public void Tiny_sdxl_with_one_layer_per_block(string sgm, string module)
    {
        Assert.Equal(1, s_tinySdxl.Value.LayersPerBlock);
        Assert.Contains(module, s_tinySdxl.Value.ModulePaths("unet"));

        Assert.Equal(module, Map(sgm, s_tinySdxl.Value));
    }

    [Theory]
    [InlineData("input_blocks_1_0_in_layers_2", "down_blocks.0.resnets.0.conv1")]
    [InlineData("input_blocks_2_0_out_layers_3", "down_blocks.0.resnets.1.conv2")]
    [InlineData("input_blocks_3_0_op", "down_blocks.0.downsamplers.0.conv")]
    [InlineData("input_blocks_4_1_proj_in", "down_blocks.1.attentions.0.proj_in")]
    [InlineData("input_blocks_5_0_emb_layers_1", "down_blocks.1.resnets.1.time_emb_proj")]
    [InlineData("input_blocks_6_0_op", "down_blocks.1.downsamplers.0.conv")]
    [InlineData("input_blocks_7_1_transformer_blocks_9_attn1_to_out_0", "down_blocks.2.attentions.0.transformer_blocks.9.attn1.to_out.0")]
    [InlineData("input_blocks_8_0_skip_connection", "down_blocks.2.resnets.1.conv_shortcut")]
    [InlineData("middle_block_1_transformer_blocks_3_ff_net_2", "mid_block.attentions.0.transformer_blocks.3.ff.net.2")]
    [InlineData("output_blocks_0_1_proj_out", "up_blocks.0.attentions.0.proj_out")]
    [InlineData("output_blocks_2_1_transformer_blocks_0_attn2_to_q", "up_blocks.0.attentions.2.transformer_blocks.0.attn2.to_q")]
    [InlineData("output_blocks_2_2_conv", "up_blocks.0.upsamplers.0.conv")]
    [InlineData("output_blocks_3_0_skip_connection", "up_blocks.1.resnets.0.conv_shortcut")]
    [InlineData("output_blocks_5_2_conv", "up_blocks.1.upsamplers.0.conv")]
    [InlineData("output_blocks_6_0_in_layers_2", "up_blocks.2.resnets.0.conv1")]
    [InlineData("output_blocks_8_0_emb_layers_1", "up_blocks.2.resnets.2.time_emb_proj")]
    public void Sdxl_with_two_layers_per_block(string sgm, string module)
    {
        Assert.Equal(module, Map(sgm, SdxlLayout(layersPerBlock: 2)));
    }

    [Fact]
    public void An_upsampler_in_a_level_without_attention_is_entry_1()
    {
        var targets = TestLoraTargets.Of(true, 1, ("unet", ["up_blocks.0.resnets.1.conv1", "up_blocks.0.upsamplers.0.conv"]));

        Assert.Equal("up_blocks.0.upsamplers.0.conv", Map("output_blocks_1_1_conv", targets));
    }

    [Theory]
    [InlineData("input_blocks_3_0_in_layers_2", "downsampler position with layers_per_block 2")]
    [InlineData("input_blocks_2_0_op", "not a downsampler")]
    [InlineData("output_blocks_1_2_conv", "holds no upsampler")]
    [InlineData("output_blocks_2_2_proj_in", "only weight is 'conv'")]
    [InlineData("input_blocks_1_2_conv", "entries 0 (resnet) and 1 (attention)")]
    [InlineData("input_blocks_0_0_conv", "conv_in")]
    [InlineData("middle_block_3_conv", "entries 0 to 2")]
    public void A_position_that_layers_per_block_does_not_allow_is_refused(string sgm, string why)
    {
        var error = Assert.Throws<DiffusionException>(() => Map(sgm, SdxlLayout(layersPerBlock: 2)));

        Assert.Contains($"lora_unet_{sgm}.lora_down.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mapped_name_missing_from_the_model_says_what_it_was_read_as()
    {
        var error = Assert.Throws<DiffusionException>(() => Map("input_blocks_3_1_transformer_blocks_7_attn1_to_q", s_tinySdxl.Value));

        Assert.Contains("read as diffusers' 'down_blocks_1_attentions_0_transformer_blocks_7_attn1_to_q'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sgm_names_on_a_model_that_is_not_sdxl_are_refused()
    {
        var targets = TestLoraTargets.Of(false, 1, ("unet", ["down_blocks.0.resnets.0.conv1"]));

        var error = Assert.Throws<DiffusionException>(() => Map("input_blocks_1_0_in_layers_2", targets));

        Assert.Contains("lora_unet_input_blocks_1_0_in_layers_2.lora_down.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("is for SDXL", error.Message, StringComparison.Ordinal);
        Assert.Contains("but the model is not", error.Message, StringComparison.Ordinal);
    }

    /// <summary>SDXL's UNet layout: levels (no attention, attention, attention) down and the reverse up, 10 transformer blocks deep.</summary>
    private static TestLoraTargets SdxlLayout(int layersPerBlock)
    {
        var paths = new List<string>();
        var attention = new[] { false, true, true };
        for (var level = 0; level < 3; level++)
        {
            Level($"down_blocks.{level}", attention[level], layersPerBlock, level < 2 ? "downsamplers" : null);
            Level($"up_blocks.{level}", attention[2 - level], layersPerBlock + 1, level < 2 ? "upsamplers" : null);
        }

        Level("mid_block", true, 2, null);
        return TestLoraTargets.Of(true, layersPerBlock, ("unet", [.. paths]));

        void Level(string block, bool withAttention, int resnets, string? sampler)
        {
            for (var k = 0; k < resnets; k++)
            {
                paths.AddRange(new[] { "conv1", "conv2", "time_emb_proj", "conv_shortcut" }.Select(l => $"{block}.resnets.{k}.{l}"));
                if (withAttention && (block != "mid_block" || k == 0))
                {
                    var attentionPath = $"{block}.attentions.{k}";
                    paths.Add($"{attentionPath}.proj_in");
                    paths.Add($"{attentionPath}.proj_out");
                    for (var t = 0; t < 10; t++)
                    {
                        var transformer = $"{attentionPath}.transformer_blocks.{t}";
                        paths.AddRange(new[] { "attn1", "attn2" }.SelectMany(a => new[] { "to_q", "to_k", "to_v", "to_out.0" }.Select(p => $"{transformer}.{a}.{p}")));
                        paths.Add($"{transformer}.ff.net.0.proj");
                        paths.Add($"{transformer}.ff.net.2");
                    }
                }
            }

            if (sampler is not null)
            {
                paths.Add($"{block}.{sampler}.0.conv");
            }
        }
    }

    private string Map(string sgm, TestLoraTargets targets)
    {
        var path = Write(Path.Combine(_temp, $"{sgm}.safetensors"), Linear($"lora_unet_{sgm}.lora_down.weight", $"lora_unet_{sgm}.lora_up.weight"));
        var layer = Assert.Single(LoraFileReader.Read(path, targets).Layers);
        Assert.Equal("unet", layer.Component);
        return layer.ModulePath;
    }
}
