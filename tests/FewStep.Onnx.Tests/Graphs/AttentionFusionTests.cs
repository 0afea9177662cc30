using FewStep.Onnx.Graphs;
using FewStep.Onnx.Sessions;
using FewStep.Onnx.Tests.Conformance;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Tests.Graphs;

/// <summary>
/// The exported attention is replaced by MultiHeadAttention where it is plain scaled dot-product attention, left
/// alone where a mask takes part, and the fused graph computes what the exported one does.
/// </summary>
public sealed class AttentionFusionTests
{
    [Theory]
    [InlineData("tiny-lcm", "unet", 8, 8)]
    [InlineData("tiny-sd-turbo", "unet", 8, 8)]
    [InlineData("tiny-sdxl-turbo", "unet", 16, 16)]
    [InlineData("tiny-sdxl-lightning", "unet", 16, 16)]
    [InlineData("tiny-lcm", "vae_decoder", 1, 1)]
    [InlineData("tiny-sdxl-turbo", "vae_encoder", 1, 1)]
    // PixArt's cross-attention adds the prompt's padding mask: only its two self-attentions are fused.
    [InlineData("tiny-pixart-lcm", "transformer", 2, 4)]
    public void Fuses_every_unmasked_attention_of_a_diffusers_export(string model, string component, int expectedFused, int softmaxes)
    {
        var path = Path.Combine(ConformancePaths.Models, model, component, "model.onnx");
        var original = File.ReadAllBytes(path);

        var fused = AttentionFusion.Fuse(original, path, allowFloat16: false, out var count, out var seen);

        Assert.NotNull(fused);
        Assert.Equal((expectedFused, softmaxes), (count, seen));
        var before = OnnxModelGraph.Parse(original, path);
        var after = OnnxModelGraph.Parse(fused, path);
        Assert.Equal(expectedFused, after.Nodes.Count(n => n.OpType == "MultiHeadAttention" && n.Domain == AttentionFusion.MicrosoftDomain));
        Assert.Equal(softmaxes - expectedFused, after.Nodes.Count(n => n.Is("Softmax")));
        // Each attention's reshapes, transposes, score arithmetic and the shape arithmetic behind them are gone.
        Assert.True(after.Nodes.Count < before.Nodes.Count - (expectedFused * 20), $"{before.Nodes.Count} nodes before, {after.Nodes.Count} after");
        Assert.Equal(before.Nodes.Count(n => n.Is("Conv")), after.Nodes.Count(n => n.Is("Conv")));
    }

    [Theory]
    [InlineData("tiny-lcm", "text_encoder")]
    [InlineData("tiny-sdxl-turbo", "text_encoder_2")]
    public void Leaves_masked_attention_as_exported(string model, string component)
    {
        // CLIP's causal mask is a non-zero addend to the scores: not plain attention, so nothing is rewritten.
        var path = Path.Combine(ConformancePaths.Models, model, component, "model.onnx");

        Assert.Null(AttentionFusion.Fuse(File.ReadAllBytes(path), path, allowFloat16: false, out var count, out var seen));
        Assert.Equal(0, count);
        Assert.True(seen > 0);
    }

    [Fact]
    public void The_fused_unet_computes_what_the_exported_one_does()
    {
        var path = Path.Combine(ConformancePaths.Models, "tiny-lcm", "unet", "model.onnx");
        var random = new Random(7);
        float[] Fill(int n) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        var sample = Fill(2 * 4 * 16 * 16);
        var hidden = Fill(2 * 77 * 32);
        var cond = Fill(2 * 32);

        float[] Run(bool fuse)
        {
            using var session = new OnnxSessionFactory(new OnnxExecutionOptions { FuseAttention = fuse }).Create("unet", path);
            using var x = OrtValue.CreateTensorValueFromMemory(sample, [2, 4, 16, 16]);
            using var t = OrtValue.CreateTensorValueFromMemory(new long[] { 499 }, [1]);
            using var e = OrtValue.CreateTensorValueFromMemory(hidden, [2, 77, 32]);
            using var c = OrtValue.CreateTensorValueFromMemory(cond, [2, 32]);
            using var results = session.Run(["sample", "timestep", "encoder_hidden_states", "timestep_cond"], [x, t, e, c], ["out_sample"], null, CancellationToken.None);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }

        var exported = Run(fuse: false);
        var fused = Run(fuse: true);

        Assert.Equal(exported.Length, fused.Length);
        var scale = exported.Max(MathF.Abs);
        var worst = exported.Zip(fused, (a, b) => MathF.Abs(a - b)).Max();
        Assert.True(worst <= 1e-5f * Math.Max(scale, 1f), $"max |exported - fused| = {worst} (values up to {scale})");
        Assert.NotEqual(0f, scale);
    }

    [Fact]
    public void The_fused_vae_decoder_computes_what_the_exported_one_does()
    {
        var path = Path.Combine(ConformancePaths.Models, "tiny-sd-turbo", "vae_decoder", "model.onnx");
        var random = new Random(11);
        var latents = Enumerable.Range(0, 4 * 8 * 8).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();

        float[] Run(bool fuse)
        {
            using var session = new OnnxSessionFactory(new OnnxExecutionOptions { FuseAttention = fuse }).Create("vae_decoder", path);
            using var input = OrtValue.CreateTensorValueFromMemory(latents, [1, 4, 8, 8]);
            using var results = session.Run(["latent_sample"], [input], ["sample"], null, CancellationToken.None);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }

        var exported = Run(fuse: false);
        var fused = Run(fuse: true);

        var worst = exported.Zip(fused, (a, b) => MathF.Abs(a - b)).Max();
        Assert.True(worst <= 1e-5f, $"max |exported - fused| = {worst}");
    }

    [Fact]
    public void A_model_with_external_weights_is_fused_and_finds_its_weights()
    {
        // Real models keep their weights in model.onnx_data; the fused graph is given to ONNX Runtime as bytes, so it
        // must be told the folder to read them from.
        using var temp = new TempFolder();
        var source = Path.Combine(ConformancePaths.Models, "tiny-lcm", "vae_decoder", "model.onnx");
        var path = Lora.OnnxModelRewriter.WriteWithExternalWeights(File.ReadAllBytes(source), temp.Path);
        Assert.True(File.Exists(Path.Combine(temp.Path, "model.onnx_data")));
        Assert.NotNull(AttentionFusion.Fuse(File.ReadAllBytes(path), path, allowFloat16: false, out _, out _));
        var latents = new float[4 * 8 * 8];
        Array.Fill(latents, 0.25f);

        float[] Run(string model, bool fuse)
        {
            using var session = new OnnxSessionFactory(new OnnxExecutionOptions { FuseAttention = fuse }).Create("vae_decoder", model);
            using var input = OrtValue.CreateTensorValueFromMemory(latents, [1, 4, 8, 8]);
            using var results = session.Run(["latent_sample"], [input], ["sample"], null, CancellationToken.None);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }

        var inline = Run(source, fuse: false);
        var external = Run(path, fuse: true);
        Assert.True(inline.Zip(external, (a, b) => MathF.Abs(a - b)).Max() <= 1e-5f);
    }

    [Fact]
    public void An_unreadable_model_is_an_error_naming_the_file()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "model.onnx");
        File.WriteAllBytes(path, [0x0A, 0xFF, 0xFF, 0xFF]);

        var error = Assert.Throws<FewStep.Diffusion.DiffusionException>(() => new OnnxSessionFactory(new OnnxExecutionOptions()).Create("unet", path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("unet", error.Message, StringComparison.Ordinal);
    }

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("fewstep-fusion-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
