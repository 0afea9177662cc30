using System.Text.Json;
using Google.Protobuf;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// Test-only: the module paths of an exported model's mergeable layers, read from its ONNX node names as the
/// conformance README describes (<c>/unet/down_blocks.0/attentions.0/proj_in/MatMul</c> ->
/// <c>down_blocks.0.attentions.0.proj_in</c>): every MatMul, Gemm and Conv node whose weight input is an initializer.
/// That includes every layer the corpus LoRAs leave alone, so a mapping is checked against the whole model, not
/// against the answer key. Field numbers are onnx.proto's.
/// </summary>
internal static class OnnxLayerPaths
{
    private const int ModelGraph = 7;
    private const int GraphNode = 1;
    private const int GraphInitializer = 5;
    private const int NodeInput = 1;
    private const int NodeName = 3;
    private const int NodeOpType = 4;
    private const int TensorName = 8;

    private static readonly HashSet<string> s_weightOps = new(StringComparer.Ordinal) { "MatMul", "Gemm", "Conv" };

    public static IReadOnlySet<string> Read(string onnxPath)
    {
        ByteString? graph = null;
        Fields(ByteString.CopyFrom(File.ReadAllBytes(onnxPath)), (field, input) =>
        {
            if (field == ModelGraph)
            {
                graph = input.ReadBytes();
                return true;
            }

            return false;
        });

        var initializers = new HashSet<string>(StringComparer.Ordinal);
        var nodes = new List<(string Name, string OpType, List<string> Inputs)>();
        Fields(graph ?? throw new InvalidDataException($"'{onnxPath}' has no graph."), (field, input) =>
        {
            switch (field)
            {
                case GraphInitializer:
                    initializers.Add(StringField(input.ReadBytes(), TensorName));
                    return true;
                case GraphNode:
                    nodes.Add(Node(input.ReadBytes()));
                    return true;
                default:
                    return false;
            }
        });

        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, opType, inputs) in nodes)
        {
            var scopes = name.Split('/');
            if (s_weightOps.Contains(opType) && inputs.Count >= 2 && initializers.Contains(inputs[1])
                && scopes.Length >= 4 && scopes[0].Length == 0 && scopes[^1] == opType)
            {
                paths.Add(string.Join('.', scopes[2..^1]));
            }
        }

        return paths;
    }

    /// <summary>The <c>layers_per_block</c> of a model folder's unet/config.json.</summary>
    public static int LayersPerBlock(string modelFolder)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(modelFolder, "unet", "config.json")));
        return config.RootElement.GetProperty("layers_per_block").GetInt32();
    }

    /// <summary>Targets of a conformance model folder: unet, text_encoder and, where present, text_encoder_2 (SDXL).</summary>
    public static TestLoraTargets Targets(string modelFolder)
    {
        var components = new[] { "unet", "text_encoder", "text_encoder_2" }
            .Where(c => File.Exists(Path.Combine(modelFolder, c, "model.onnx")))
            .ToDictionary(c => c, c => Read(Path.Combine(modelFolder, c, "model.onnx")));
        return new TestLoraTargets(components, components.ContainsKey("text_encoder_2"), LayersPerBlock(modelFolder));
    }

    private static (string Name, string OpType, List<string> Inputs) Node(ByteString bytes)
    {
        string name = "", opType = "";
        var inputs = new List<string>();
        Fields(bytes, (field, input) =>
        {
            switch (field)
            {
                case NodeInput:
                    inputs.Add(input.ReadString());
                    return true;
                case NodeName:
                    name = input.ReadString();
                    return true;
                case NodeOpType:
                    opType = input.ReadString();
                    return true;
                default:
                    return false;
            }
        });
        return (name, opType, inputs);
    }

    private static string StringField(ByteString bytes, int number)
    {
        var value = "";
        Fields(bytes, (field, input) =>
        {
            if (field == number)
            {
                value = input.ReadString();
                return true;
            }

            return false;
        });
        return value;
    }

    /// <summary>Calls <paramref name="read"/> for every field; where it returns false the field is skipped.</summary>
    private static void Fields(ByteString bytes, Func<int, CodedInputStream, bool> read)
    {
        var input = new CodedInputStream(bytes.ToByteArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (!read(WireFormat.GetTagFieldNumber(tag), input))
            {
                input.SkipLastField();
            }
        }
    }
}
