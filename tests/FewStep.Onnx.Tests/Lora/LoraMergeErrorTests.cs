using FewStep.Diffusion;
using FewStep.Onnx.Lora;
using static FewStep.Onnx.Tests.Lora.SyntheticModels;
using static FewStep.Onnx.Tests.Models.OnnxProtoWriter;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>A merge that cannot be right is refused before any weight is read, with a message that says where.</summary>
public sealed class LoraMergeErrorTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-lora-errors-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData(new[] { 4, 15 }, new[] { 24, 4 })] // in 15 for 16
    [InlineData(new[] { 4, 16 }, new[] { 23, 4 })] // out 23 for 24
    [InlineData(new[] { 4, 16 }, new[] { 24, 5 })] // up's rank differs from down's
    [InlineData(new[] { 4, 16, 3, 3 }, new[] { 24, 4, 1, 1 })] // a 3 × 3 kernel on a Linear layer
    [InlineData(new[] { 4, 16, 1, 1 }, new[] { 24, 4, 3, 3 })] // up with a kernel
    [InlineData(new[] { 4 }, new[] { 24, 4 })]
    [InlineData(new[] { 0, 16 }, new[] { 24, 0 })]
    public void A_lora_whose_shapes_do_not_fit_names_module_keys_and_shapes(int[] downShape, int[] upShape)
    {
        var path = SingleLayerModel.MatMul(16, 24).Write(_temp, new float[16 * 24]);
        var layer = LoraTestData.RandomLayer(new Random(1), "unet", "mid_block.attentions.0.to_q", downShape, upShape, key: "lora_unet");

        var error = Assert.Throws<DiffusionException>(() => LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(layer, 1f)]));

        Assert.Contains("'mid_block.attentions.0.to_q'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{layer.Down.Key}' is [{string.Join(", ", downShape)}]", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{layer.Up.Key}' is [{string.Join(", ", upShape)}]", error.Message, StringComparison.Ordinal);
        Assert.Contains("is [16, 24]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_conv_lora_with_another_kernel_is_refused()
    {
        var model = SingleLayerModel.Conv(16, 24, kernel: 3, size: 8, pad: 1);
        var path = model.Write(_temp, new float[24 * 16 * 9]);
        var layer = LoraTestData.RandomLayer(new Random(2), "unet", model.Module, [4, 16, 1, 1], [24, 4, 1, 1]);

        var error = Assert.Throws<DiffusionException>(() => LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(layer, 1f)]));

        Assert.Contains("is [24, 16, 3, 3]", error.Message, StringComparison.Ordinal);
        Assert.Contains("down [r, 16, 3, 3]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_module_the_model_does_not_have_names_module_and_component()
    {
        var path = SingleLayerModel.MatMul(16, 24).Write(_temp, new float[16 * 24]);
        var layer = LoraTestData.RandomLayer(new Random(3), "text_encoder", "text_model.encoder.layers.9.mlp.fc1", [4, 16], [24, 4]);

        var error = Assert.Throws<DiffusionException>(() => LoraMerge.Merge(OnnxWeightIndex.Read(path), "text_encoder", [(layer, 1f)]));

        Assert.Contains("'text_model.encoder.layers.9.mlp.fc1' (text_encoder", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_weight_shared_by_two_matmuls_is_refused_naming_the_initializer_and_both_nodes()
    {
        var graph = Graph("shared",
            [
                NamedNode("/unet/a/to_q/MatMul", "MatMul", ["x", "tied"], ["q"]),
                NamedNode("/unet/a/to_k/MatMul", "MatMul", ["x", "tied"], ["k"]),
            ],
            [Tensor("tied", [16, 24], raw: new byte[16 * 24 * 4])]);
        var path = Write(_temp, Model(graph));
        var index = OnnxWeightIndex.Read(path);
        var layer = LoraTestData.RandomLayer(new Random(4), "unet", "a.to_q", [4, 16], [24, 4]);

        var error = Assert.Throws<DiffusionException>(() => LoraMerge.Merge(index, "unet", [(layer, 1f)]));

        Assert.Contains("'tied'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'a.to_q'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'/unet/a/to_q/MatMul', '/unet/a/to_k/MatMul'", error.Message, StringComparison.Ordinal);
        Assert.Contains("shares the weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_weight_also_read_by_a_graph_output_is_refused()
    {
        var graph = Graph("output",
            [NamedNode("/unet/a/proj/MatMul", "MatMul", ["x", "w"], ["y"])],
            [Tensor("w", [16, 24], raw: new byte[16 * 24 * 4])],
            outputs: [ValueInfo("w", Float, [16, 24])]);
        var path = Write(_temp, Model(graph));
        var layer = LoraTestData.RandomLayer(new Random(5), "unet", "a.proj", [4, 16], [24, 4]);

        var error = Assert.Throws<DiffusionException>(() => LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(layer, 1f)]));

        Assert.Contains("1 more use(s) in subgraphs or as a graph output", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_ambiguous_module_path_is_refused_naming_both_nodes()
    {
        var graph = Graph("ambiguous",
            [
                NamedNode("/unet/a/proj/MatMul", "MatMul", ["x", "w1"], ["y1"]),
                NamedNode("/unet/a/proj/MatMul_1", "MatMul", ["x", "w2"], ["y2"]),
            ],
            [Tensor("w1", [16, 24], raw: new byte[16 * 24 * 4]), Tensor("w2", [16, 24], raw: new byte[16 * 24 * 4])]);
        var path = Write(_temp, Model(graph));
        var layer = LoraTestData.RandomLayer(new Random(6), "unet", "a.proj", [4, 16], [24, 4]);

        var error = Assert.Throws<DiffusionException>(() => LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(layer, 1f)]));

        Assert.Contains("'/unet/a/proj/MatMul', '/unet/a/proj/MatMul_1'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_finite_scale_is_refused()
    {
        var model = SingleLayerModel.MatMul(16, 24);
        var path = model.Write(_temp, new float[16 * 24]);

        Assert.Throws<DiffusionException>(() => LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(model.RandomLora(new Random(7), 4), float.NaN)]));
    }
}
