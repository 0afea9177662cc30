using System.Text.Json;
using FewStep.Onnx.Lora;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>loras/index.json (the answer key), random LoRA layers of given shapes, and a naive reference merge.</summary>
internal static class LoraTestData
{
    public static string LorasFolder => Path.Combine(ConformancePaths.Root, "loras");

    /// <summary>One module of loras/index.json: what a LoRA file targets and where the answer key says its weight is.</summary>
    public sealed record AnswerKeyModule(
        string File, string OnnxModel, string Component, string Module, int[] DownShape, int[] UpShape,
        string OnnxNode, string OnnxInitializer, string OnnxLayout);

    public static IReadOnlyList<AnswerKeyModule> AnswerKey()
    {
        using var index = JsonDocument.Parse(System.IO.File.ReadAllBytes(Path.Combine(LorasFolder, "index.json")));
        var modules = new List<AnswerKeyModule>();
        foreach (var file in index.RootElement.GetProperty("files").EnumerateObject())
        {
            var model = file.Value.GetProperty("onnx_model").GetString()!;
            foreach (var module in file.Value.GetProperty("modules").EnumerateArray())
            {
                modules.Add(new AnswerKeyModule(
                    file.Name, model, module.GetProperty("component").GetString()!, module.GetProperty("module").GetString()!,
                    [.. module.GetProperty("down_shape").EnumerateArray().Select(d => d.GetInt32())],
                    [.. module.GetProperty("up_shape").EnumerateArray().Select(d => d.GetInt32())],
                    module.GetProperty("onnx_node").GetString()!, module.GetProperty("onnx_initializer").GetString()!,
                    module.GetProperty("onnx_layout").GetString()!));
            }
        }

        return modules;
    }

    /// <summary>The answer key's layout text as the index's layout.</summary>
    public static OnnxWeightLayout ParseLayout(string text) =>
        text.StartsWith("MatMul", StringComparison.Ordinal) ? OnnxWeightLayout.InOut
        : text.StartsWith("Gemm transB=1", StringComparison.Ordinal) ? OnnxWeightLayout.OutIn
        : text.StartsWith("Conv", StringComparison.Ordinal) ? OnnxWeightLayout.Conv
        : throw new InvalidDataException($"unknown layout '{text}'");

    public static LoraLayer RandomLayer(Random random, string component, string module, int[] downShape, int[] upShape,
        float? alpha = null, float magnitude = 0.2f, string key = "lora")
    {
        var down = new LoraTensor($"{key}.{module}.down", downShape, RandomValues(random, downShape.Aggregate(1, (n, d) => n * d), magnitude));
        var up = new LoraTensor($"{key}.{module}.up", upShape, RandomValues(random, upShape.Aggregate(1, (n, d) => n * d), magnitude));
        return new LoraLayer(component, module, down, up, alpha);
    }

    public static float[] RandomValues(Random random, int count, float magnitude = 1f) =>
        [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2) - 1) * magnitude)];

    /// <summary>
    /// W + f · up @ down written in the initializer's layout, element by element in double precision: the
    /// formulas of the README's merge table, independent of the vectorized merge.
    /// </summary>
    public static float[] ReferenceMerge(float[] weight, OnnxWeightLayout layout, IReadOnlyList<long> dims, IEnumerable<(LoraLayer Layer, float Scale)> loras)
    {
        var result = (float[])weight.Clone();
        var delta = new double[weight.Length];
        foreach (var (layer, scale) in loras)
        {
            var f = (double)scale * layer.AlphaOverRank;
            var rank = layer.Rank;
            var down = layer.Down.Data;
            var up = layer.Up.Data;
            Array.Clear(delta);
            if (layout == OnnxWeightLayout.InOut)
            {
                int inputs = (int)dims[0], outputs = (int)dims[1];
                for (var i = 0; i < inputs; i++)
                {
                    for (var o = 0; o < outputs; o++)
                    {
                        double sum = 0;
                        for (var r = 0; r < rank; r++)
                        {
                            sum += (double)down[(r * inputs) + i] * up[(o * rank) + r];
                        }

                        delta[(i * outputs) + o] = f * sum;
                    }
                }
            }
            else
            {
                // [out, in] or [out, in, kh, kw]: W[o, k] += f Σ_r up[o, r] · down[r, k] over the flattened in·kh·kw.
                var outputs = (int)dims[0];
                var flat = weight.Length / outputs;
                for (var o = 0; o < outputs; o++)
                {
                    for (var k = 0; k < flat; k++)
                    {
                        double sum = 0;
                        for (var r = 0; r < rank; r++)
                        {
                            sum += (double)up[(o * rank) + r] * down[(r * flat) + k];
                        }

                        delta[(o * flat) + k] = f * sum;
                    }
                }
            }

            for (var i = 0; i < result.Length; i++)
            {
                result[i] = (float)(result[i] + delta[i]);
            }
        }

        return result;
    }

    public static byte[] FloatBytes(float[] values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    public static float MaxAbsDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        }

        return max;
    }
}
