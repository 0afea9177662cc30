using FewStep.Onnx.Lora;
using Microsoft.ML.OnnxRuntime;
using static FewStep.Onnx.Tests.Lora.SyntheticModels;
using static FewStep.Onnx.Tests.Models.OnnxProtoWriter;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// A one-layer model y = op(x, W) (optionally followed by a Mul with a constant, which ORT folds into a Conv
/// weight), its weight inline or in an external file, and the layer computed directly for reference.
/// </summary>
internal sealed record SingleLayerModel(string Op, string NodeName, long[] WeightDims, long[] InputShape, long[] OutputShape, int Stride = 1, int Pad = 0, long TransB = 0)
{
    public static SingleLayerModel MatMul(int inputs, int outputs) =>
        new("MatMul", "/unet/mid_block/attentions.0/to_q/MatMul", [inputs, outputs], [3, inputs], [3, outputs]);

    public static SingleLayerModel Gemm(int inputs, int outputs, long transB) =>
        new("Gemm", "/unet/down_blocks.0/resnets.0/time_emb_proj/Gemm", transB == 1 ? [outputs, inputs] : [inputs, outputs], [3, inputs], [3, outputs], TransB: transB);

    public static SingleLayerModel Conv(int inputs, int outputs, int kernel, int size, int stride = 1, int pad = 0) =>
        new("Conv", "/unet/down_blocks.0/resnets.0/conv1/Conv", [outputs, inputs, kernel, kernel], [1, inputs, size, size],
            [1, outputs, ((size + (2 * pad) - kernel) / stride) + 1, ((size + (2 * pad) - kernel) / stride) + 1], stride, pad);

    /// <summary>The module path the node name spells, without the wrapper scope.</summary>
    public string Module => string.Join('.', NodeName.Split('/', StringSplitOptions.RemoveEmptyEntries)[1..^1]);

    public const string WeightName = "w";

    /// <summary>Writes model.onnx (and, for <paramref name="externalFile"/>, the weight at a 4 KiB offset in that file) and returns its path.</summary>
    public string Write(string folder, float[] weight, int dataType = Float, string? externalFile = null, float? mulBy = null)
    {
        var raw = dataType == Float16Data ? HalfBytes(weight) : LoraTestData.FloatBytes(weight);
        byte[] weightTensor;
        if (externalFile is null)
        {
            weightTensor = Tensor(WeightName, WeightDims, dataType, raw: raw);
        }
        else
        {
            var data = new byte[4096 + raw.Length];
            raw.CopyTo(data, 4096);
            File.WriteAllBytes(Path.Combine(folder, externalFile), data);
            weightTensor = Tensor(WeightName, WeightDims, dataType, location: externalFile, offset: 4096, length: raw.Length);
        }

        var attributes = Op switch
        {
            "Conv" => new[] { IntsAttribute("strides", Stride, Stride), IntsAttribute("pads", Pad, Pad, Pad, Pad) },
            "Gemm" => [IntAttribute("transB", TransB)],
            _ => [],
        };
        var nodes = new List<byte[]> { NamedNode(NodeName, Op, ["x", WeightName], [mulBy is null ? "y" : "t"], attributes) };
        var initializers = new List<byte[]> { weightTensor };
        if (mulBy is { } factor)
        {
            // A per-channel constant after the conv: ORT's ConvMulFusion folds it into the conv weight.
            var channels = OutputShape[1];
            nodes.Add(NamedNode("/unet/scale/Mul", "Mul", ["t", "s"], ["y"]));
            initializers.Add(Tensor("s", [channels, 1, 1], dataType, raw: dataType == Float16Data
                ? HalfBytes(Enumerable.Repeat(factor, (int)channels).ToArray())
                : LoraTestData.FloatBytes(Enumerable.Repeat(factor, (int)channels).ToArray())));
        }

        var graph = Graph("single", [.. nodes], [.. initializers],
            inputs: [ValueInfo("x", dataType, InputShape)], outputs: [ValueInfo("y", dataType, OutputShape)]);
        return Models.OnnxProtoWriter.Write(folder, Model(graph));
    }

    /// <summary>The layer computed directly (double accumulation) with weight <paramref name="weight"/>.</summary>
    public float[] Compute(float[] x, float[] weight, float mulBy = 1f)
    {
        var y = new float[OutputShape.Aggregate(1L, (n, d) => n * d)];
        if (Op == "Conv")
        {
            int cIn = (int)InputShape[1], size = (int)InputShape[2], cOut = (int)OutputShape[1], outSize = (int)OutputShape[2], k = (int)WeightDims[2];
            for (var o = 0; o < cOut; o++)
            {
                for (var oy = 0; oy < outSize; oy++)
                {
                    for (var ox = 0; ox < outSize; ox++)
                    {
                        double sum = 0;
                        for (var c = 0; c < cIn; c++)
                        {
                            for (var ky = 0; ky < k; ky++)
                            {
                                for (var kx = 0; kx < k; kx++)
                                {
                                    int iy = (oy * Stride) + ky - Pad, ix = (ox * Stride) + kx - Pad;
                                    if (iy >= 0 && iy < size && ix >= 0 && ix < size)
                                    {
                                        sum += (double)x[(((c * size) + iy) * size) + ix] * weight[(((((o * cIn) + c) * k) + ky) * k) + kx];
                                    }
                                }
                            }
                        }

                        y[(((o * outSize) + oy) * outSize) + ox] = (float)(sum * mulBy);
                    }
                }
            }

            return y;
        }

        int batch = (int)InputShape[0], inputs = (int)InputShape[1], outputs = (int)OutputShape[1];
        var outIn = Op == "Gemm" && TransB == 1;
        for (var b = 0; b < batch; b++)
        {
            for (var o = 0; o < outputs; o++)
            {
                double sum = 0;
                for (var i = 0; i < inputs; i++)
                {
                    sum += (double)x[(b * inputs) + i] * weight[outIn ? (o * inputs) + i : (i * outputs) + o];
                }

                y[(b * outputs) + o] = (float)(sum * mulBy);
            }
        }

        return y;
    }

    /// <summary>Runs a CPU session on <paramref name="modelPath"/> at <paramref name="level"/>, merged weights added first.</summary>
    public float[] Run(string modelPath, float[] x, MergedWeights? merged = null,
        GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL, byte[]? modelBytes = null)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level };
        merged?.AddTo(options);
        using var session = modelBytes is null ? new InferenceSession(modelPath, options) : new InferenceSession(modelBytes, options);
        using var input = OrtValue.CreateTensorValueFromMemory(x, InputShape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["x"], [input], ["y"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public LoraLayer RandomLora(Random random, int rank, float? alpha = null, bool linearShaped = false, bool convShaped = false, string key = "lora")
    {
        int outputs = (int)(Op == "Conv" || TransB == 1 ? WeightDims[0] : WeightDims[1]);
        int inputs = (int)(Op == "Conv" || TransB == 1 ? WeightDims[1] : WeightDims[0]);
        int[] down, up;
        if (Op == "Conv" && !linearShaped)
        {
            (down, up) = ([rank, inputs, (int)WeightDims[2], (int)WeightDims[3]], [outputs, rank, 1, 1]);
        }
        else
        {
            (down, up) = convShaped ? ([rank, inputs, 1, 1], [outputs, rank, 1, 1]) : (new[] { rank, inputs }, new[] { outputs, rank });
        }

        return LoraTestData.RandomLayer(random, "unet", Module, down, up, alpha, key: key);
    }
}
