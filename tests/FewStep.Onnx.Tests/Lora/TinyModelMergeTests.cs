using System.Diagnostics;
using FewStep.Onnx.Lora;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// Merging into the conformance models' real graphs: a session given the merged weights by
/// <see cref="MergedWeights.AddTo"/> computes what a session on a copy of the model file with those weights
/// written in computes, at ORT_ENABLE_ALL (the project's default) and ORT_ENABLE_BASIC.
/// </summary>
public sealed class TinyModelMergeTests(ITestOutputHelper output)
{
    private const int SequenceLength = 77;

    public static TheoryData<string, string, GraphOptimizationLevel> Cases() => new()
    {
        // The kohya LoCon file's layer set: attention, proj_in/out, ff, time_emb_proj (Gemm), conv1/conv2,
        // conv_shortcut, down/upsampler convs (3 × 3, the downsampler with stride 2).
        { "sd_kohya_unet_locon", "unet", GraphOptimizationLevel.ORT_ENABLE_ALL },
        { "sd_kohya_unet_locon", "unet", GraphOptimizationLevel.ORT_ENABLE_BASIC },
        { "sd_kohya_unet_te", "text_encoder", GraphOptimizationLevel.ORT_ENABLE_ALL },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_session_given_the_merged_weights_computes_what_the_rewritten_model_computes(string file, string component, GraphOptimizationLevel level)
    {
        var path = Path.Combine(ConformancePaths.Model("tiny-sd-turbo"), component, "model.onnx");
        var random = new Random(file.Length * 31 + component.Length);
        var loras = LoraTestData.AnswerKey().Where(m => m.File == file && m.Component == component)
            .Select(m => (Layer: LoraTestData.RandomLayer(random, component, m.Module, m.DownShape, m.UpShape, alpha: m.DownShape[0] / 2f), Scale: 0.8f))
            .ToList();
        Assert.NotEmpty(loras);
        var index = OnnxWeightIndex.Read(path);

        using var merged = LoraMerge.Merge(index, component, loras);

        Assert.Equal(loras.Count, merged.Statistics.LayersMerged);
        var replaced = merged.InitializerNames.ToDictionary(name => name, name => LoraTestData.FloatBytes(merged.ReadMerged(name)));
        var rewritten = OnnxModelRewriter.ReplaceInitializers(File.ReadAllBytes(path), replaced);
        var inputs = Inputs(component, new Random(5));

        var fromMerge = Run(path, null, inputs, level, merged);
        var fromRewrite = Run(path, rewritten, inputs, level, null);
        var unmerged = Run(path, null, inputs, level, null);

        var difference = LoraTestData.MaxAbsDifference(fromRewrite, fromMerge);
        var effect = LoraTestData.MaxAbsDifference(unmerged, fromMerge);
        output.WriteLine($"{file} {component} {level}: {merged.Statistics}; max |merged - rewritten| {difference:g3}, LoRA effect {effect:g3}");
        Assert.True(difference < 1e-5f, $"max |diff| {difference}");
        Assert.True(effect > 1e-2f, $"the LoRA changed the output by only {effect}");
    }

    [Fact]
    public void Scale_zero_gives_the_base_outputs()
    {
        var path = Path.Combine(ConformancePaths.Model("tiny-sd-turbo"), "unet", "model.onnx");
        var random = new Random(0);
        var loras = LoraTestData.AnswerKey().Where(m => m.File == "sd_kohya_unet_locon")
            .Select(m => (LoraTestData.RandomLayer(random, "unet", m.Module, m.DownShape, m.UpShape), 0f));

        using var merged = LoraMerge.Merge(OnnxWeightIndex.Read(path), "unet", loras);

        Assert.Empty(merged.InitializerNames);
        var inputs = Inputs("unet", new Random(6));
        Assert.Equal(Run(path, null, inputs, GraphOptimizationLevel.ORT_ENABLE_ALL, null),
            Run(path, null, inputs, GraphOptimizationLevel.ORT_ENABLE_ALL, merged));
    }

    [Fact]
    public void Merging_rank_8_into_every_layer_of_the_tiny_unet_is_measured()
    {
        var path = Path.Combine(ConformancePaths.Model("tiny-sd-turbo"), "unet", "model.onnx");
        var clock = Stopwatch.StartNew();
        var index = OnnxWeightIndex.Read(path);
        var indexTime = clock.Elapsed;
        var random = new Random(8);
        var loras = index.Layers.Select(layer => (RandomRank8(random, "unet", layer), 1f)).ToList();

        using var merged = LoraMerge.Merge(index, "unet", loras);

        var statistics = merged.Statistics;
        output.WriteLine($"tiny-sd-turbo unet: index {indexTime.TotalMilliseconds:F1} ms; {statistics.LayersMerged} layers, " +
            $"{statistics.InitializersReplaced} initializers, {statistics.ReplacedBytes} bytes, merge {statistics.Elapsed.TotalMilliseconds:F1} ms " +
            $"(model file {new FileInfo(path).Length} bytes)");
        Assert.Equal(index.Layers.Count, statistics.InitializersReplaced);
        Assert.Equal(index.Layers.Sum(l => l.ElementCount * 4), statistics.ReplacedBytes);
    }

    /// <summary>A rank-8 LoRA layer of the shapes a weight takes (conv: the kernel in down, up 1 × 1).</summary>
    internal static LoraLayer RandomRank8(Random random, string component, OnnxWeightLayer layer)
    {
        const int Rank = 8;
        var (kh, kw) = layer.Kernel;
        int[] down = layer.Layout == OnnxWeightLayout.Conv ? [Rank, (int)layer.In, (int)kh, (int)kw] : [Rank, (int)layer.In];
        int[] up = layer.Layout == OnnxWeightLayout.Conv ? [(int)layer.Out, Rank, 1, 1] : [(int)layer.Out, Rank];
        var moduleWithoutWrapper = layer.ModulePath[(layer.ModulePath.IndexOf('.', StringComparison.Ordinal) + 1)..];
        return LoraTestData.RandomLayer(random, component, moduleWithoutWrapper, down, up, magnitude: 0.05f);
    }

    private static List<(string Name, OrtValue Value)> Inputs(string component, Random random)
    {
        if (component == "text_encoder")
        {
            var ids = Enumerable.Range(0, SequenceLength).Select(_ => random.Next(49408)).ToArray();
            return [("input_ids", OrtValue.CreateTensorValueFromMemory(ids, [1, SequenceLength]))];
        }

        return
        [
            ("sample", OrtValue.CreateTensorValueFromMemory(LoraTestData.RandomValues(random, 4 * 8 * 8, 2f), [1, 4, 8, 8])),
            ("timestep", OrtValue.CreateTensorValueFromMemory(new long[] { 499 }, [1])),
            ("encoder_hidden_states", OrtValue.CreateTensorValueFromMemory(LoraTestData.RandomValues(random, SequenceLength * 32), [1, SequenceLength, 32])),
        ];
    }

    private static float[] Run(string path, byte[]? model, List<(string Name, OrtValue Value)> inputs, GraphOptimizationLevel level, MergedWeights? merged)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level };
        merged?.AddTo(options);
        using var session = model is null ? new InferenceSession(path, options) : new InferenceSession(model, options);
        using var runOptions = new RunOptions();
        var outputName = session.OutputMetadata.Keys.First();
        using var results = session.Run(runOptions, [.. inputs.Select(i => i.Name)], [.. inputs.Select(i => i.Value)], [outputName]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
