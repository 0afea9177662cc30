using FewStep.Onnx.Lora;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static FewStep.Onnx.Tests.Lora.SyntheticModels;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// A float16 weight is widened, merged in float32 and rounded back to float16 (round to nearest even), and the
/// merged float16 tensor reaches ONNX Runtime.
/// </summary>
public sealed class LoraMergeFloat16Tests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-lora-fp16-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData(null)]
    [InlineData("model.onnx_data")]
    public void A_float16_weight_is_merged_in_float32_and_stored_as_float16(string? externalFile)
    {
        var random = new Random(16);
        var model = SingleLayerModel.MatMul(16, 24);
        var weight = ThroughHalf(LoraTestData.RandomValues(random, 16 * 24, 0.5f));
        var path = model.Write(_temp, weight, Float16Data, externalFile);
        var lora = model.RandomLora(random, 4);
        var index = OnnxWeightIndex.Read(path);
        Assert.True(index.TryGetLayer(model.Module, out var layer));
        Assert.Equal(TensorElementType.Float16, layer.ElementType);

        using var merged = LoraMerge.Merge(index, "unet", [(lora, 1f)]);

        Assert.Equal(16 * 24 * 2, merged.Statistics.ReplacedBytes);
        var reference = LoraTestData.ReferenceMerge(weight, OnnxWeightLayout.InOut, model.WeightDims, [(lora, 1f)]);
        var actual = merged.ReadMerged(SingleLayerModel.WeightName);
        for (var i = 0; i < actual.Length; i++)
        {
            // The float32 merge is within 1e-6 of the reference; float16 rounding adds at most half a float16 ulp.
            Assert.Equal(actual[i], (float)(Half)actual[i]);
            Assert.True(Math.Abs(actual[i] - reference[i]) <= (HalfUlp(reference[i]) / 2) + 1e-6f, $"{i}: {actual[i]} vs {reference[i]}");
        }

        var x = ThroughHalf(LoraTestData.RandomValues(random, 3 * 16));
        var output = RunFloat16(path, model, x, merged);
        var expected = model.Compute(x, actual);
        Assert.True(LoraTestData.MaxAbsDifference(expected, output) < 2e-2f, $"max |diff| {LoraTestData.MaxAbsDifference(expected, output)}");
        Assert.True(LoraTestData.MaxAbsDifference(model.Compute(x, weight), output) > 5e-2f, "the LoRA changed nothing");
    }

    [Fact]
    public void A_float16_merge_rounds_like_a_half_cast()
    {
        float[] values = [1f, 1.00048828125f, 1.000732421875f, 65519f, 65520f, -0.1f];
        var narrow = new ushort[values.Length];

        OnnxWeightData.Narrow(TensorElementType.Float16, values, narrow);

        Assert.Equal(values.Select(v => BitConverter.HalfToUInt16Bits((Half)v)), narrow);
    }

    private static float HalfUlp(float value)
    {
        var half = (Half)value;
        return Math.Abs((float)BitConverter.UInt16BitsToHalf((ushort)(BitConverter.HalfToUInt16Bits(half) + 1)) - (float)half);
    }

    private static float[] RunFloat16(string path, SingleLayerModel model, float[] x, MergedWeights merged)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        merged.AddTo(options);
        using var session = new InferenceSession(path, options);
        using var input = OrtValue.CreateTensorValueFromMemory(x.Select(v => (Float16)v).ToArray(), model.InputShape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["x"], [input], ["y"]);
        return [.. results[0].GetTensorDataAsSpan<Float16>().ToArray().Select(v => (float)v)];
    }
}
