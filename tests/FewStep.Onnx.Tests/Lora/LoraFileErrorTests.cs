using FewStep.Diffusion;
using FewStep.Onnx.Lora;
using static FewStep.Onnx.Tests.Lora.LoraFixtures;
using static FewStep.Onnx.Tests.Lora.SafetensorsWriter;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// A LoRA the model cannot take exactly as written is refused, naming the file and the key at fault: a LoRA applied
/// in part, or to the wrong model family, changes the model in a way its author never saw.
/// </summary>
public sealed class LoraFileErrorTests : IDisposable
{
    private const string ToQ = $"unet.{Attn1}.to_q";

    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-loraerrors-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData("model.diffusion_model.input_blocks.1.0.weight", "no known LoRA format")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.lora_A.weight", "has a kohya prefix but not kohya's form")]
    [InlineData("lora_unet_down_blocks.0.lora_down.weight", "has a kohya prefix but not kohya's form")]
    [InlineData("unet.down_blocks.0.attentions.0.proj_in.weight", "has a component prefix but ends in none of")]
    [InlineData("unet.lora_A.weight", "has a component prefix but ends in none of")]
    [InlineData("vae.decoder.conv_in.lora_A.weight", "no known LoRA format")]
    [InlineData("base_model.model.down_blocks.0.attentions.0.proj_in.lora_A.weight", "bare PEFT adapter key")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.dora_scale", "DoRA")]
    [InlineData("unet.down_blocks.0.attentions.0.proj_in.lora_magnitude_vector", "DoRA")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.hada_w1_a", "LyCORIS LoHa")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.lokr_w1", "LyCORIS LoKr")]
    [InlineData("lora_unet_down_blocks_0_resnets_0_conv1.lora_mid.weight", "lora_mid")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.oft_blocks", "OFT")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.diff", "full fine-tune difference")]
    public void A_key_in_no_supported_format_is_refused(string key, string why)
    {
        AssertRefused([Ramp(key, 2, 4), .. Linear($"{ToQ}.lora_A.weight", $"{ToQ}.lora_B.weight")], Sdxl(), key, why);
    }

    [Theory]
    [InlineData("unet.down_blocks.0.attentions.0.proj_inn.lora_A.weight", "unet", "nearest: 'down_blocks.0.attentions.0.proj_in'")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_inn.lora_down.weight", "unet", "nearest: 'down_blocks.0.attentions.0.proj_in'")]
    [InlineData("text_encoder.text_model.encoder.layers.5.mlp.fc1.lora_A.weight", "text_encoder", "layers.0.mlp.fc1")]
    [InlineData("unet.down_blocks.0.attentions.0.norm.lora_A.weight", "unet", "no layer of the model's unet")]
    public void A_key_for_no_layer_of_the_model_is_refused(string key, string component, string hint)
    {
        AssertRefused(Linear(key, key.Replace("lora_A", "lora_B", StringComparison.Ordinal).Replace("lora_down", "lora_up", StringComparison.Ordinal)),
            Sd(), key, $"model's {component}", hint);
    }

    [Fact]
    public void A_down_without_an_up_is_refused()
    {
        var key = $"{ToQ}.lora_A.weight";
        AssertRefused([Ramp(key, 2, 4)], Sd(), key, "has no up matrix");
    }

    [Fact]
    public void An_up_without_a_down_is_refused()
    {
        var key = "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight";
        AssertRefused([Ramp(key, 4, 2)], Sd(), key, "has no down matrix");
    }

    [Fact]
    public void An_alpha_alone_is_refused()
    {
        var key = "lora_unet_down_blocks_0_attentions_0_proj_in.alpha";
        AssertRefused([F32(key, [], 1f), .. Kohya("lora_unet_down_blocks_0_attentions_0_proj_out")], Sd(), key, "has no down matrix");
    }

    [Theory]
    [InlineData(new[] { 2, 4 }, new[] { 3, 3 }, "up", "its rank 3 is not the down matrix's 2")]
    [InlineData(new[] { 2, 4 }, new[] { 3, 2, 1, 1 }, "up", "needs an up of [out, 2]")]
    [InlineData(new[] { 2, 4, 3, 3 }, new[] { 3, 2 }, "up", "needs an up of [out, 2, 1, 1]")]
    [InlineData(new[] { 2, 4, 3, 3 }, new[] { 3, 2, 3, 3 }, "up", "needs an up of [out, 2, 1, 1]")]
    [InlineData(new[] { 2, 4, 3, 3 }, new[] { 3, 1, 1, 1 }, "up", "its rank 1 is not the down matrix's 2")]
    [InlineData(new[] { 2, 4, 3 }, new[] { 3, 2 }, "down", "[rank, in] (Linear) or [rank, in, kh, kw] (Conv)")]
    [InlineData(new[] { 8 }, new[] { 3, 8 }, "down", "[rank, in] (Linear) or [rank, in, kh, kw] (Conv)")]
    [InlineData(new[] { 0, 4 }, new[] { 3, 0 }, "down", "empty down matrix")]
    [InlineData(new[] { 2, 4 }, new[] { 0, 2 }, "up", "needs an up of [out, 2]")]
    public void Shapes_that_are_no_lora_pair_are_refused(int[] downShape, int[] upShape, string blamed, string why)
    {
        var (down, up) = ($"{ToQ}.lora.down.weight", $"{ToQ}.lora.up.weight");
        AssertRefused([Ramp(down, downShape), Ramp(up, upShape)], Sd(), blamed == "down" ? down : up, why);
    }

    [Fact]
    public void An_alpha_that_is_not_a_finite_scalar_is_refused()
    {
        const string Name = "lora_unet_down_blocks_0_attentions_0_proj_in";
        var pair = Linear($"{Name}.lora_down.weight", $"{Name}.lora_up.weight");

        AssertRefused([.. pair, F32($"{Name}.alpha", [1], 4f)], Sd(), $"{Name}.alpha", "not a scalar (shape [])");
        AssertRefused([.. pair, F32($"{Name}.alpha", [], float.NaN)], Sd(), $"{Name}.alpha", "not a finite number");
    }

    [Fact]
    public void An_integer_weight_is_refused_naming_its_dtype()
    {
        var key = $"{ToQ}.lora_A.weight";
        AssertRefused([new SafetensorsEntry(key, "I64", [2, 4], new byte[64]), Ramp($"{ToQ}.lora_B.weight", 3, 2)], Sd(), key, "is I64");
    }

    [Theory]
    [InlineData("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", "lora_te1_ / lora_te2_")]
    [InlineData("lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", "lora_te1_ / lora_te2_")]
    [InlineData("text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight", "second text encoder")]
    [InlineData("lora_unet_output_blocks_1_2_conv.lora_down.weight", "SGM block names")]
    public void An_sdxl_lora_on_sd_is_refused(string key, string why)
    {
        AssertRefused([Ramp(key, 2, 4)], Sd(), key, "this LoRA is for SDXL", "but the model is not", why);
    }

    [Fact]
    public void An_sd_lora_on_sdxl_is_refused()
    {
        var key = "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight";
        AssertRefused([Ramp(key, 2, 4)], Sdxl(), key, "is for SD 1.x/2.x", "but the model is SDXL");
    }

    [Fact]
    public void A_component_the_model_lacks_is_refused()
    {
        var key = "text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_A.weight";
        var unetOnly = TestLoraTargets.Of(false, 2, ("unet", UnetPaths));

        AssertRefused([Ramp(key, 2, 4)], unetOnly, key, "changes the text_encoder, which the model does not have (it has unet)");
    }

    [Fact]
    public void A_layer_given_twice_is_refused()
    {
        var kohya = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight";
        AssertRefused([.. Linear($"{ToQ}.lora_A.weight", $"{ToQ}.lora_B.weight"), Ramp(kohya, 2, 4)], Sd(), kohya,
            $"gives the down of unet layer '{Attn1}.to_q' a second time (also key '{ToQ}.lora_A.weight')");

        var diffusers = $"{ToQ}.lora.up.weight";
        AssertRefused([.. Linear($"{ToQ}.lora_A.weight", $"{ToQ}.lora_B.weight"), Ramp(diffusers, 3, 2)], Sd(), diffusers, "a second time");
    }

    [Fact]
    public void Paths_that_collide_once_underscored_are_refused_when_a_key_names_them()
    {
        var targets = TestLoraTargets.Of(false, 2, ("unet", ["a.b_c", "a_b.c", "other"]));

        AssertRefused(Kohya("lora_unet_a_b_c"), targets, "lora_unet_a_b_c.lora_down.weight", "ambiguous", "'a.b_c' and 'a_b.c'");
    }

    [Fact]
    public void A_file_without_tensors_is_refused()
    {
        var path = Write(Path.Combine(_temp, "empty.safetensors"), [], new Dictionary<string, string> { ["format"] = "pt" });

        var error = Assert.Throws<DiffusionException>(() => LoraFileReader.Read(path, Sd()));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("holds no tensors", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_file_is_refused_by_the_safetensors_reader()
    {
        var path = WriteRaw(Path.Combine(_temp, "broken.safetensors"), "{\"x\": {\"dtype\": \"F32\"}}", []);

        var error = Assert.Throws<DiffusionException>(() => LoraFileReader.Read(path, Sd()));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("tensor 'x'", error.Message, StringComparison.Ordinal);
    }

    private void AssertRefused(SafetensorsEntry[] tensors, TestLoraTargets targets, string key, params string[] fragments)
    {
        var path = Write(Path.Combine(_temp, $"lora-{Guid.NewGuid():N}.safetensors"), tensors);

        var error = Assert.Throws<DiffusionException>(() => LoraFileReader.Read(path, targets));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains($"key '{key}'", error.Message, StringComparison.Ordinal);
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        }
    }
}
