using System.Text.Json;
using FewStep.Diffusion;
using FewStep.Onnx.Lora;
using Microsoft.ML.OnnxRuntime.Tensors;
using static FewStep.Onnx.Tests.Lora.SyntheticModels;
using static FewStep.Onnx.Tests.Models.OnnxProtoWriter;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// The index finds every weight a LoRA targets where loras/index.json (the answer key) says it is, from node
/// names alone, in wrapper and bare exports alike, and knows which weights are shared.
/// </summary>
public sealed class OnnxWeightIndexTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-lora-index-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    public static TheoryData<string, string> AnswerKeyModels() => new()
    {
        { "tiny-sd-turbo", "tiny-sd-turbo" },

        // The answer key names tiny-sdxl-turbo for the SDXL file; tiny-sdxl-lightning's UNet is the same file.
        { "tiny-sdxl-turbo", "tiny-sdxl-turbo" },
        { "tiny-sdxl-turbo", "tiny-sdxl-lightning" },
    };

    [Theory]
    [MemberData(nameof(AnswerKeyModels))]
    public void Every_module_of_the_answer_key_is_found_at_its_node_and_initializer(string answerKeyModel, string model)
    {
        var modules = LoraTestData.AnswerKey().Where(m => m.OnnxModel == answerKeyModel).ToList();
        Assert.NotEmpty(modules);
        foreach (var component in modules.GroupBy(m => m.Component))
        {
            var index = OnnxWeightIndex.Read(Path.Combine(ConformancePaths.Model(model), component.Key, "model.onnx"));
            Assert.Equal(component.Key == "unet" ? "unet" : "model", index.WrapperScope);
            foreach (var module in component)
            {
                Assert.Contains(module.Module, index.ModulePaths);
                Assert.True(index.TryGetLayer(module.Module, out var layer), module.Module);
                Assert.Equal(module.OnnxNode, layer.NodeName);
                Assert.Equal(module.OnnxInitializer, layer.InitializerName);
                Assert.Equal(LoraTestData.ParseLayout(module.OnnxLayout), layer.Layout);
                Assert.Equal(1, layer.ConsumerCount);
                Assert.Equal(TensorElementType.Float, layer.ElementType);
                Assert.Equal(OnnxTensorStorageKind.RawData, layer.Storage.Kind);

                // The LoRA's shapes say [out, in(, kh, kw)]; the weight holds them in its layout.
                Assert.Equal(module.UpShape[0], layer.Out);
                Assert.Equal(module.DownShape[1], layer.In);
            }
        }
    }

    [Fact]
    public void The_second_sdxl_text_encoder_has_the_first_ones_layers_and_its_projection()
    {
        var first = OnnxWeightIndex.Read(Path.Combine(ConformancePaths.Model("tiny-sdxl-lightning"), "text_encoder", "model.onnx"));
        var second = OnnxWeightIndex.Read(Path.Combine(ConformancePaths.Model("tiny-sdxl-lightning"), "text_encoder_2", "model.onnx"));

        Assert.All(first.Layers, layer =>
        {
            Assert.True(second.TryGetLayer(layer.ModulePath, out var other));
            Assert.Equal(layer.NodeName, other.NodeName);
            Assert.Equal(1, other.ConsumerCount);
        });
        Assert.True(second.TryGetLayer("text_projection", out var projection));
        Assert.Equal("/model/text_projection/MatMul", projection.NodeName);
        Assert.Equal(first.Layers.Count + 1, second.Layers.Count);
    }

    [Fact]
    public void Every_weight_of_the_tiny_models_has_a_path_its_own_initializer_and_one_consumer()
    {
        var models = Directory.GetDirectories(ConformancePaths.Models).SelectMany(Directory.GetDirectories)
            .Select(component => Path.Combine(component, "model.onnx")).Where(File.Exists).ToList();
        Assert.NotEmpty(models);
        foreach (var model in models)
        {
            var index = OnnxWeightIndex.Read(model);
            Assert.NotEmpty(index.Layers);
            Assert.All(index.Layers, layer => Assert.Equal(1, layer.ConsumerCount));
            Assert.Equal(index.Layers.Count, index.Layers.Select(l => l.InitializerName).Distinct().Count());
            Assert.All(index.Layers, layer => Assert.True(index.TryGetLayer(layer.ModulePath, out var found) && found == layer));
        }
    }

    [Theory]
    [InlineData("unet", "unet", 282)]
    [InlineData("text_encoder", "model", 138)]
    [InlineData("vae_decoder", null, 40)]
    public void A_real_size_export_keeps_its_weights_in_model_onnx_data_where_fill_json_says(string component, string? wrapper, int layers)
    {
        var folder = Path.Combine(ConformancePaths.Root, "skeletons", "realsize-sd-turbo", component);
        var index = OnnxWeightIndex.Read(Path.Combine(folder, "model.onnx"));
        using var fill = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "fill.json")));
        var tensors = fill.RootElement.GetProperty("tensors").EnumerateArray()
            .ToDictionary(t => t.GetProperty("name").GetString()!, t => (Offset: t.GetProperty("offset").GetInt64(), Length: t.GetProperty("length").GetInt64()));

        Assert.Equal(wrapper, index.WrapperScope);
        Assert.Equal(layers, index.Layers.Count);
        foreach (var layer in index.Layers.Where(l => l.Storage.Kind == OnnxTensorStorageKind.External))
        {
            Assert.Equal("model.onnx_data", layer.Storage.Location);
            Assert.Equal(tensors[layer.InitializerName], (layer.Storage.Offset, layer.Storage.Length!.Value));
            Assert.Equal(layer.ElementCount * 4, layer.Storage.Length);
        }

        Assert.True(index.Layers.Count(l => l.Storage.Kind == OnnxTensorStorageKind.External) >= layers - 1);
    }

    [Theory]
    [InlineData("/model/text_model/encoder/layers.0/self_attn/q_proj/MatMul", "model")]
    [InlineData("/text_model/encoder/layers.0/self_attn/q_proj/MatMul", "text_model")]
    public void A_text_encoder_path_resolves_in_wrapper_and_bare_exports(string nodeName, string wrapper)
    {
        var prefix = nodeName[..nodeName.IndexOf("/encoder", StringComparison.Ordinal)];
        var path = WriteGraph(
            MatMul(nodeName, "q"),
            MatMul($"{prefix}/encoder/layers.0/mlp/fc1/MatMul", "fc1"));

        var index = OnnxWeightIndex.Read(path);

        Assert.Equal(wrapper, index.WrapperScope);
        Assert.True(index.TryGetLayer("text_model.encoder.layers.0.self_attn.q_proj", out var layer));
        Assert.Equal(nodeName, layer.NodeName);
        Assert.True(index.TryGetLayer("text_model.encoder.layers.0.mlp.fc1", out _));
    }

    [Fact]
    public void A_bare_unet_export_has_no_wrapper_and_its_paths_are_diffusers_own()
    {
        var path = WriteGraph(
            Conv("/conv_in/Conv", "conv_in", [8, 4, 3, 3]),
            MatMul("/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul", "q"),
            Gemm("/time_embedding/linear_1/Gemm", "t", transB: 1));

        var index = OnnxWeightIndex.Read(path);

        Assert.Null(index.WrapperScope);
        Assert.Equal(["conv_in", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", "time_embedding.linear_1"],
            index.ModulePaths.Order(StringComparer.Ordinal));
        Assert.True(index.TryGetLayer("time_embedding.linear_1", out var gemm));
        Assert.Equal((OnnxWeightOp.Gemm, OnnxWeightLayout.OutIn), (gemm.Op, gemm.Layout));
    }

    [Fact]
    public void A_path_as_the_node_spells_it_wins_over_one_without_the_wrapper()
    {
        // Both under "a": "a.b" is the first node's own path and the second's without the wrapper.
        var path = WriteGraph(MatMul("/a/b/MatMul", "first"), MatMul("/a/a/b/MatMul", "second"));

        var index = OnnxWeightIndex.Read(path);

        Assert.True(index.TryGetLayer("a.b", out var exact));
        Assert.Equal("/a/b/MatMul", exact.NodeName);
        Assert.True(index.TryGetLayer("b", out var stripped));
        Assert.Equal("/a/b/MatMul", stripped.NodeName);
    }

    [Fact]
    public void Two_weight_nodes_of_one_module_make_its_path_ambiguous()
    {
        var path = WriteGraph(MatMul("/unet/proj/MatMul", "first"), MatMul("/unet/proj/MatMul_1", "second"), MatMul("/unet/other/MatMul", "third"));
        var index = OnnxWeightIndex.Read(path);

        Assert.Contains("proj", index.ModulePaths);
        var error = Assert.Throws<DiffusionException>(() => index.TryGetLayer("proj", out _));

        Assert.Contains("'/unet/proj/MatMul'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'/unet/proj/MatMul_1'", error.Message, StringComparison.Ordinal);
        Assert.True(index.TryGetLayer("other", out _));
        Assert.False(index.TryGetLayer("missing", out _));
    }

    [Fact]
    public void Only_weights_a_lora_can_be_merged_into_are_indexed()
    {
        var nodes = new[]
        {
            NamedNode("/unet/activations/MatMul", "MatMul", ["x", "x2"], ["a"]),
            NamedNode("/unet/grouped/Conv", "Conv", ["x", "grouped"], ["b"], IntAttribute("group", 2)),
            NamedNode("/unet/scaled/Gemm", "Gemm", ["x", "scaled"], ["c"], FloatAttribute("alpha", 2f)),
            NamedNode("/unet/batched/MatMul", "MatMul", ["x", "batched"], ["d"]),
            NamedNode("/unet/integer/MatMul", "MatMul", ["x", "integer"], ["e"]),
            NamedNode("/unet/custom/MatMul", "MatMul", ["x", "custom"], ["f"], domain: "com.example"),
            NamedNode("MatMul_7", "MatMul", ["x", "unnamed"], ["g"]),
            NamedNode("/unet/kept/MatMul", "MatMul", ["x", "kept"], ["h"]),
        };
        var initializers = new[]
        {
            Tensor("grouped", [8, 2, 3, 3], raw: new byte[8 * 2 * 9 * 4]),
            Tensor("scaled", [8, 8], raw: new byte[256]),
            Tensor("batched", [2, 8, 8], raw: new byte[512]),
            Tensor("integer", [8, 8], dataType: 6, raw: new byte[256]),
            Tensor("custom", [8, 8], raw: new byte[256]),
            Tensor("unnamed", [8, 8], raw: new byte[256]),
            Tensor("kept", [8, 8], dataType: BFloat16Data, raw: new byte[128]),
        };
        var graph = Graph("filters", nodes, initializers);
        var path = Write(_temp, Model(graph));

        var index = OnnxWeightIndex.Read(path);

        var kept = Assert.Single(index.Layers);
        Assert.Equal(("unet.kept", TensorElementType.BFloat16), (kept.ModulePath, kept.ElementType));
    }

    [Fact]
    public void Consumers_are_counted_over_nodes_subgraphs_and_graph_outputs()
    {
        var thenBranch = Graph("then", [NamedNode("/inner/Identity", "Identity", ["in_subgraph"], ["out"])], []);
        var nodes = new[]
        {
            NamedNode("/unet/a/MatMul", "MatMul", ["x", "shared"], ["a"]),
            NamedNode("/unet/b/MatMul", "MatMul", ["x", "shared"], ["b"]),
            NamedNode("/unet/c/MatMul", "MatMul", ["x", "in_subgraph"], ["c"]),
            NamedNode("/unet/d/MatMul", "MatMul", ["x", "as_output"], ["d"]),
            NamedNode("/unet/e/MatMul", "MatMul", ["x", "alone"], ["e"]),
            NamedNode("/unet/if/If", "If", ["cond"], ["f"], GraphAttribute("then_branch", thenBranch)),
        };
        var initializers = new[] { "shared", "in_subgraph", "as_output", "alone" }.Select(name => Tensor(name, [4, 4], raw: new byte[64])).ToArray();
        var path = Write(_temp, Model(Graph("consumers", nodes, initializers, outputs: [ValueInfo("as_output", Float, [4, 4])])));

        var index = OnnxWeightIndex.Read(path);

        Assert.Equal([2, 2, 2, 2, 1], index.Layers.Select(l => l.ConsumerCount));
        Assert.Equal(["/unet/a/MatMul", "/unet/b/MatMul"], index.ConsumersOf("shared"));
    }

    [Fact]
    public void Indexing_a_model_with_large_inline_weights_reads_none_of_them_into_memory()
    {
        const int RawBytes = 32 * 1024 * 1024;
        var path = Path.Combine(_temp, "model.onnx");
        WriteLargeInlineModel(path, RawBytes, "after.bin");
        OnnxWeightIndex.Read(path);

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        OnnxWeightIndex.Read(path);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;

        Assert.True(allocated < 1024 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void A_location_leaving_the_model_folder_is_refused_as_for_downloads()
    {
        var graph = Graph("evil", [NamedNode("/unet/a/MatMul", "MatMul", ["x", "w"], ["y"])], [Tensor("w", [4, 4], location: "../evil.bin")]);
        var path = Write(_temp, Model(graph));

        var error = Assert.Throws<InvalidDataException>(() => OnnxWeightIndex.Read(path));

        Assert.Contains("'../evil.bin'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_prefix_of_a_model_is_either_indexed_or_refused_as_invalid_data()
    {
        var graph = Graph("prefix",
            [NamedNode("/unet/a/MatMul", "MatMul", ["x", "w"], ["y"], IntAttribute("unused", 3)), NamedNode("/unet/b/Gemm", "Gemm", ["y", "v"], ["z"], FloatAttribute("alpha", 1f))],
            [Tensor("w", [2, 2], raw: new byte[16]), Tensor("v", [2, 2], location: "model.onnx_data", offset: 0, length: 16)],
            outputs: [ValueInfo("z", Float, [2])]);
        var model = Model(graph);
        var path = Path.Combine(_temp, "prefix.onnx");

        for (var length = 0; length < model.Length; length++)
        {
            File.WriteAllBytes(path, model[..length]);
            try
            {
                OnnxWeightIndex.Read(path);
            }
            catch (InvalidDataException error)
            {
                Assert.Contains("byte offset", error.Message, StringComparison.Ordinal);
            }
        }

        File.WriteAllBytes(path, model);
        Assert.Equal(["unet.a", "unet.b"], OnnxWeightIndex.Read(path).Layers.Select(l => l.ModulePath));
    }

    private static (byte[] Node, byte[] Weight) MatMul(string nodeName, string weight) => NodeWithWeight(nodeName, "MatMul", weight, [8, 8]);

    private static (byte[] Node, byte[] Weight) Conv(string nodeName, string weight, long[] dims) => NodeWithWeight(nodeName, "Conv", weight, dims);

    private static (byte[] Node, byte[] Weight) Gemm(string nodeName, string weight, long transB) =>
        NodeWithWeight(nodeName, "Gemm", weight, [8, 8], IntAttribute("transB", transB));

    private static (byte[] Node, byte[] Weight) NodeWithWeight(string nodeName, string op, string weight, long[] dims, params byte[][] attributes) =>
        (NamedNode(nodeName, op, ["x", weight], [weight + "_out"], attributes), Tensor(weight, dims, raw: new byte[dims.Aggregate(4L, (n, d) => n * d)]));

    private string WriteGraph(params (byte[] Node, byte[] Weight)[] layers) =>
        Write(_temp, Model(Graph("paths", [.. layers.Select(l => l.Node)], [.. layers.Select(l => l.Weight)])));
}
