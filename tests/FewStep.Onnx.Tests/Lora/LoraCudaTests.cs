using FewStep.Onnx.Lora;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// The merged weights on the CUDA execution provider. Written without a GPU at hand: the expectations follow ONNX
/// Runtime's source (external initializers are injected into the graph before placement, so CUDA copies them like
/// any weight; a value given by AddInitializer is used only when its memory is on the device ORT planned for the
/// initializer, else skipped with a warning) and are checked here on the first GPU machine that runs them.
/// </summary>
public sealed class LoraCudaTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-lora-cuda-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [CudaFact]
    public void External_weights_given_by_add_to_are_used_on_cuda()
    {
        var (model, path, weight, merged, x) = Prepare("model.onnx_data");
        using (merged)
        {
            var expected = model.Compute(x, merged.ReadMerged(SingleLayerModel.WeightName));

            var actual = RunOnCuda(model, x, options => merged.AddTo(options), path, null);

            Assert.True(LoraTestData.MaxAbsDifference(expected, actual) < 1e-3f);
            Assert.True(LoraTestData.MaxAbsDifference(model.Compute(x, weight), actual) > 1e-2f);
        }
    }

    [CudaFact]
    public void Inline_weights_reach_cuda_through_the_patched_model_image()
    {
        var (model, path, _, merged, x) = Prepare(null);
        using (merged)
        {
            var expected = model.Compute(x, merged.ReadMerged(SingleLayerModel.WeightName));

            var actual = RunOnCuda(model, x, _ => { }, path, merged.CreatePatchedModel());

            Assert.True(LoraTestData.MaxAbsDifference(expected, actual) < 1e-3f);
        }
    }

    [CudaFact]
    public void Inline_weights_given_by_add_to_are_skipped_on_cuda()
    {
        // What MergedWeights' remarks say: if this fails, ORT uses CPU values for CUDA weights after all and
        // CreatePatchedModel is not needed there.
        var (model, path, weight, merged, x) = Prepare(null);
        using (merged)
        {
            var actual = RunOnCuda(model, x, options => merged.AddTo(options), path, null);

            Assert.True(LoraTestData.MaxAbsDifference(model.Compute(x, weight), actual) < 1e-3f);
        }
    }

    private (SingleLayerModel Model, string Path, float[] Weight, MergedWeights Merged, float[] X) Prepare(string? externalFile)
    {
        var random = new Random(11);
        var model = SingleLayerModel.Conv(16, 32, kernel: 3, size: 8, pad: 1);
        var weight = LoraTestData.RandomValues(random, 32 * 16 * 9, 0.5f);
        var path = model.Write(_temp, weight, externalFile: externalFile);
        var merged = LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", [(model.RandomLora(random, 8), 1f)]);
        return (model, path, weight, merged, LoraTestData.RandomValues(random, 16 * 64));
    }

    private static float[] RunOnCuda(SingleLayerModel model, float[] x, Action<SessionOptions> configure, string path, byte[]? image)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        options.AppendExecutionProvider_CUDA(0);
        configure(options);
        using var session = image is null ? new InferenceSession(path, options) : new InferenceSession(image, options);
        using var input = OrtValue.CreateTensorValueFromMemory(x, model.InputShape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["x"], [input], ["y"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
