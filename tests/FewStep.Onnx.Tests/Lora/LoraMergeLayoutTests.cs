using FewStep.Onnx.Lora;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// Each weight layout of the README's merge table, merged and run through ONNX Runtime (ORT_ENABLE_ALL, the
/// project's default), against the layer computed directly from the reference formula.
/// </summary>
public sealed class LoraMergeLayoutTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-lora-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    public static TheoryData<string, string?> Layouts()
    {
        var data = new TheoryData<string, string?>();
        foreach (var layout in new[] { "matmul", "gemm-transB1", "gemm-transB0", "conv1x1", "conv3x3-stride2", "linear-lora-on-conv1x1", "conv-lora-on-linear" })
        {
            data.Add(layout, null);
            data.Add(layout, "model.onnx_data");
        }

        data.Add("conv3x3-stride2", "model.onnx.data");
        return data;
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void A_layout_merges_as_the_reference_formula_and_onnx_runtime_uses_it(string layout, string? externalFile)
    {
        var random = new Random(layout.GetHashCode(StringComparison.Ordinal) ^ (externalFile?.Length ?? 0));
        var (model, lora) = layout switch
        {
            "matmul" => Case(SingleLayerModel.MatMul(16, 24), m => m.RandomLora(random, 4, alpha: 2f)),
            "gemm-transB1" => Case(SingleLayerModel.Gemm(16, 24, transB: 1), m => m.RandomLora(random, 4)),
            "gemm-transB0" => Case(SingleLayerModel.Gemm(16, 24, transB: 0), m => m.RandomLora(random, 4, alpha: 8f)),
            "conv1x1" => Case(SingleLayerModel.Conv(16, 24, kernel: 1, size: 5), m => m.RandomLora(random, 4)),
            "conv3x3-stride2" => Case(SingleLayerModel.Conv(16, 24, kernel: 3, size: 8, stride: 2, pad: 1), m => m.RandomLora(random, 8, alpha: 4f)),
            "linear-lora-on-conv1x1" => Case(SingleLayerModel.Conv(16, 24, kernel: 1, size: 5), m => m.RandomLora(random, 4, linearShaped: true)),
            "conv-lora-on-linear" => Case(SingleLayerModel.MatMul(16, 24), m => m.RandomLora(random, 4, convShaped: true)),
            _ => throw new ArgumentOutOfRangeException(nameof(layout)),
        };
        var weight = LoraTestData.RandomValues(random, (int)model.WeightDims.Aggregate(1L, (n, d) => n * d), 0.5f);
        var path = model.Write(_temp, weight, externalFile: externalFile);
        var index = OnnxWeightIndex.Read(path);
        const float Scale = 0.7f;

        using var merged = LoraMerge.Merge(index, "unet", [(lora, Scale)]);

        Assert.True(index.TryGetLayer(model.Module, out var target));
        var expectedWeight = LoraTestData.ReferenceMerge(weight, target.Layout, target.Dims, [(lora, Scale)]);
        Assert.True(LoraTestData.MaxAbsDifference(expectedWeight, merged.ReadMerged(SingleLayerModel.WeightName)) < 1e-6f);
        Assert.Equal(externalFile is null, merged.HasInlineWeights);

        var x = LoraTestData.RandomValues(random, (int)model.InputShape.Aggregate(1L, (n, d) => n * d));
        var expected = model.Compute(x, expectedWeight);
        var actual = model.Run(path, x, merged);
        Assert.True(LoraTestData.MaxAbsDifference(expected, actual) < 1e-4f, $"max |diff| {LoraTestData.MaxAbsDifference(expected, actual)}");
        Assert.True(LoraTestData.MaxAbsDifference(model.Compute(x, weight), actual) > 1e-2f, "the LoRA changed nothing");
    }

    [Theory]
    [InlineData(null, GraphOptimizationLevel.ORT_ENABLE_ALL)]
    [InlineData(null, GraphOptimizationLevel.ORT_ENABLE_BASIC)]
    [InlineData("model.onnx_data", GraphOptimizationLevel.ORT_ENABLE_ALL)]
    [InlineData("model.onnx_data", GraphOptimizationLevel.ORT_ENABLE_BASIC)]
    public void A_conv_weight_that_onnx_runtime_fuses_and_reorders_keeps_the_merge(string? externalFile, GraphOptimizationLevel level)
    {
        // Conv then Mul by a constant: ConvMulFusion (level 1) folds the scale into the weight, and NCHWc (level 3)
        // reorders it; both build new initializers from the weight's values.
        var random = new Random(7);
        var model = SingleLayerModel.Conv(16, 32, kernel: 3, size: 8, pad: 1);
        var weight = LoraTestData.RandomValues(random, 32 * 16 * 9, 0.5f);
        var path = model.Write(_temp, weight, externalFile: externalFile, mulBy: 2f);
        var lora = model.RandomLora(random, 8);

        using var merged = LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(lora, 1f)]);

        var x = LoraTestData.RandomValues(random, 16 * 64);
        var expected = model.Compute(x, LoraTestData.ReferenceMerge(weight, OnnxWeightLayout.Conv, model.WeightDims, [(lora, 1f)]), mulBy: 2f);
        Assert.True(LoraTestData.MaxAbsDifference(expected, model.Run(path, x, merged, level)) < 1e-4f);
    }

    [Fact]
    public void Onnx_runtime_ignores_add_initializer_for_a_weight_an_optimization_rewrote()
    {
        // Why MergedWeights.AddTo does more than SessionOptions.AddInitializer: at ORT_ENABLE_ALL the NCHWc layout
        // copies every Conv weight from the model file and the value given is never used. If this starts failing,
        // ONNX Runtime has changed and the disabled optimizers may no longer be needed.
        var random = new Random(8);
        var model = SingleLayerModel.Conv(16, 32, kernel: 3, size: 8, pad: 1);
        var weight = LoraTestData.RandomValues(random, 32 * 16 * 9, 0.5f);
        var path = model.Write(_temp, weight);
        var replacement = LoraTestData.RandomValues(random, weight.Length, 0.5f);
        var x = LoraTestData.RandomValues(random, 16 * 64);

        using var value = OrtValue.CreateTensorValueFromMemory(replacement, model.WeightDims);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        options.AddInitializer(SingleLayerModel.WeightName, value);
        using var session = new InferenceSession(path, options);
        using var input = OrtValue.CreateTensorValueFromMemory(x, model.InputShape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["x"], [input], ["y"]);

        var actual = results[0].GetTensorDataAsSpan<float>();
        Assert.True(LoraTestData.MaxAbsDifference(model.Compute(x, weight), actual) < 1e-4f, "ORT used the given value after all");
    }

    [Fact]
    public void Several_loras_on_one_layer_are_added_in_order()
    {
        var random = new Random(3);
        var model = SingleLayerModel.MatMul(16, 24);
        var weight = LoraTestData.RandomValues(random, 16 * 24, 0.5f);
        var path = model.Write(_temp, weight);
        var first = model.RandomLora(random, 4, alpha: 1f, key: "first");
        var second = model.RandomLora(random, 8, key: "second");
        (LoraLayer, float)[] loras = [(first, 0.5f), (second, -1.25f)];

        using var merged = LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", loras);

        var expected = LoraTestData.ReferenceMerge(weight, OnnxWeightLayout.InOut, model.WeightDims, loras);
        Assert.True(LoraTestData.MaxAbsDifference(expected, merged.ReadMerged(SingleLayerModel.WeightName)) < 1e-6f);
        Assert.Equal(new MergeStatistics(2, 1, 16 * 24 * 4, merged.Statistics.Elapsed), merged.Statistics);
    }

    [Fact]
    public void Layers_of_other_components_and_zero_scales_change_nothing()
    {
        var random = new Random(4);
        var model = SingleLayerModel.MatMul(16, 24);
        var weight = LoraTestData.RandomValues(random, 16 * 24, 0.5f);
        var path = model.Write(_temp, weight);
        var lora = model.RandomLora(random, 4);
        var textEncoderLayer = lora with { Component = "text_encoder" };

        using var merged = LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(lora, 0f), (textEncoderLayer, 1f)]);

        Assert.Empty(merged.InitializerNames);
        Assert.Equal(0, merged.Statistics.LayersMerged);
        var x = LoraTestData.RandomValues(random, 3 * 16);
        Assert.Equal(model.Run(path, x), model.Run(path, x, merged));
    }

    [Fact]
    public void The_patched_model_image_gives_what_add_to_gives()
    {
        var random = new Random(5);
        var model = SingleLayerModel.Conv(16, 24, kernel: 3, size: 8, pad: 1);
        var weight = LoraTestData.RandomValues(random, 24 * 16 * 9, 0.5f);
        var path = model.Write(_temp, weight);
        var original = File.ReadAllBytes(path);
        using var merged = LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(model.RandomLora(random, 4), 1f)]);

        var patched = merged.CreatePatchedModel();

        Assert.Equal(original.Length, patched.Length);
        Assert.Equal(File.ReadAllBytes(path), original); // the file itself is untouched
        Assert.Equal(LoraTestData.FloatBytes(merged.ReadMerged(SingleLayerModel.WeightName)), OnnxModelRewriter.ReadRawData(patched)[SingleLayerModel.WeightName]);
        var x = LoraTestData.RandomValues(random, 16 * 64);
        // Not bit for bit: AddTo turns NCHWc off for inline weights, the patched image runs with it (another kernel).
        Assert.True(LoraTestData.MaxAbsDifference(model.Run(path, x, merged), model.Run(path, x, modelBytes: patched)) < 1e-5f);
    }

    [Fact]
    public void A_patched_model_image_is_refused_for_external_weights()
    {
        var random = new Random(6);
        var model = SingleLayerModel.MatMul(16, 24);
        var path = model.Write(_temp, LoraTestData.RandomValues(random, 16 * 24), externalFile: "model.onnx_data");
        using var merged = LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(model.RandomLora(random, 4), 1f)]);

        var error = Assert.Throws<FewStep.Diffusion.DiffusionException>(merged.CreatePatchedModel);

        Assert.Contains("AddTo", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Merged_weights_serve_several_session_options_and_refuse_use_after_dispose()
    {
        var random = new Random(9);
        var model = SingleLayerModel.MatMul(16, 24);
        var weight = LoraTestData.RandomValues(random, 16 * 24, 0.5f);
        var path = model.Write(_temp, weight, externalFile: "model.onnx_data");
        var merged = LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(model.RandomLora(random, 4), 1f)]);
        var x = LoraTestData.RandomValues(random, 3 * 16);

        var first = model.Run(path, x, merged);
        GC.Collect();
        var second = model.Run(path, x, merged, GraphOptimizationLevel.ORT_DISABLE_ALL);
        merged.Dispose();

        Assert.True(LoraTestData.MaxAbsDifference(first, second) < 1e-5f);
        using var options = new SessionOptions();
        Assert.Throws<ObjectDisposedException>(() => merged.AddTo(options));
    }

    [Theory]
    [InlineData(GraphOptimizationLevel.ORT_ENABLE_ALL)]
    [InlineData(GraphOptimizationLevel.ORT_DISABLE_ALL)]
    public void Onnx_runtime_copies_external_initializers_so_the_merged_buffers_may_go_once_the_session_exists(GraphOptimizationLevel level)
    {
        // LoraApplication disposes the merged weights of an external-data model right after creating its session;
        // if ONNX Runtime ever read them in place instead, this turns the output into garbage and fails.
        var random = new Random(11);
        var model = SingleLayerModel.Conv(16, 24, kernel: 3, size: 8, stride: 2, pad: 1);
        var weight = LoraTestData.RandomValues(random, 24 * 16 * 3 * 3, 0.5f);
        var path = model.Write(_temp, weight, externalFile: "model.onnx_data");
        var lora = model.RandomLora(random, 4);
        var merged = LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(lora, 1f)]);
        var expectedWeight = merged.ReadMerged(SingleLayerModel.WeightName);
        using var options = new SessionOptions { GraphOptimizationLevel = level };
        merged.AddTo(options);
        using var session = new InferenceSession(path, options);

        merged.OverwriteBuffers(0x7f);
        merged.Dispose();
        GC.Collect();

        var x = LoraTestData.RandomValues(random, (int)model.InputShape.Aggregate(1L, (n, d) => n * d));
        using var input = OrtValue.CreateTensorValueFromMemory(x, model.InputShape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["x"], [input], ["y"]);
        var actual = results[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.True(LoraTestData.MaxAbsDifference(model.Compute(x, expectedWeight), actual) < 1e-4f);
    }

    private static (SingleLayerModel Model, LoraLayer Lora) Case(SingleLayerModel model, Func<SingleLayerModel, LoraLayer> lora) => (model, lora(model));
}
