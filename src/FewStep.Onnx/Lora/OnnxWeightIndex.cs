using System.Diagnostics.CodeAnalysis;
using FewStep.Diffusion;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FewStep.Onnx.Lora;

/// <summary>
/// The weights of an ONNX model that a LoRA can be merged into, found by one streaming pass over the model file
/// (no <c>raw_data</c> is read): every MatMul whose input 1 is a rank-2 initializer, every Gemm (alpha 1) whose
/// input 1 is a rank-2 initializer, and every Conv (group 1) whose input 1 is a rank-4 initializer, each under
/// the module path its node name spells.
/// </summary>
/// <remarks>
/// <para>
/// Only the top-level graph is indexed; that is where diffusers and transformers exports put every weight.
/// Subgraphs are still read for their references to top-level names, so that a weight they use counts as shared.
/// </para>
/// <para>
/// Paths: the node <c>/unet/down_blocks.0/attentions.0/proj_in/MatMul</c> gives
/// <c>unet.down_blocks.0.attentions.0.proj_in</c>. When every weight node sits under one first scope (a wrapper
/// export: <c>unet</c>, <c>model</c>), each path is also registered without it
/// (<c>down_blocks.0.attentions.0.proj_in</c>). Bare exports have no such wrapper, but a bare CLIPTextModel has
/// <c>text_model</c> first everywhere; so <c>text_model.encoder.layers.0.self_attn.q_proj</c> is found in both
/// <c>/model/text_model/encoder/...</c> (without the wrapper) and <c>/text_model/encoder/...</c> (exactly).
/// A lookup prefers an exact path over a path without the wrapper scope.
/// </para>
/// </remarks>
public sealed class OnnxWeightIndex
{
    private readonly Dictionary<string, List<OnnxWeightLayer>> _exact;
    private readonly Dictionary<string, List<OnnxWeightLayer>> _withoutWrapper;
    private readonly IReadOnlyList<OnnxGraphNode> _nodes;

    private OnnxWeightIndex(
        string modelPath,
        IReadOnlyList<OnnxGraphNode> nodes,
        IReadOnlyDictionary<string, OnnxGraphInitializer> initializers,
        IReadOnlyDictionary<string, int> consumerCounts,
        List<OnnxWeightLayer> layers,
        string? wrapperScope)
    {
        ModelPath = modelPath;
        _nodes = nodes;
        Initializers = initializers;
        ConsumerCounts = consumerCounts;
        Layers = layers;
        WrapperScope = wrapperScope;
        _exact = Group(layers, layer => layer.ModulePath);
        _withoutWrapper = wrapperScope is null
            ? new Dictionary<string, List<OnnxWeightLayer>>(StringComparer.Ordinal)
            : Group(layers, layer => layer.ModulePath[(wrapperScope.Length + 1)..]);
        ModulePaths = _exact.Keys.Concat(_withoutWrapper.Keys).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The model file read.</summary>
    public string ModelPath { get; }

    /// <summary>The export wrapper's first scope (<c>unet</c>, <c>model</c>, or <c>text_model</c> in a bare text encoder), or null.</summary>
    public string? WrapperScope { get; }

    /// <summary>Every mergeable layer, in graph order.</summary>
    public IReadOnlyList<OnnxWeightLayer> Layers { get; }

    /// <summary>Module paths of the mergeable layers: as the node names spell them and, with a wrapper, without its scope.</summary>
    public IReadOnlySet<string> ModulePaths { get; }

    internal IReadOnlyDictionary<string, OnnxGraphInitializer> Initializers { get; }

    internal IReadOnlyDictionary<string, int> ConsumerCounts { get; }

    /// <summary>Indexes the ONNX model at <paramref name="modelPath"/> in one pass, holding none of its tensor data.</summary>
    /// <exception cref="InvalidDataException">The file is not valid protobuf (message names file and offset), or a location leaves the model's folder.</exception>
    public static OnnxWeightIndex Read(string modelPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);

        // bufferSize 0: the wire reader buffers, and a second buffer in FileStream would only copy bytes twice.
        using var stream = new FileStream(modelPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        var scanner = new OnnxGraphScanner(stream, modelPath);
        scanner.Scan();

        var candidates = new List<(OnnxGraphNode Node, OnnxGraphInitializer Weight, OnnxWeightOp Op, OnnxWeightLayout Layout, string[] Scopes)>();
        foreach (var node in scanner.Nodes)
        {
            if (Classify(node, scanner.Initializers) is { } found)
            {
                var scopes = OnnxModulePaths.Scopes(node.Name);
                if (scopes.Length > 0)
                {
                    candidates.Add((node, found.Weight, found.Op, found.Layout, scopes));
                }
            }
        }

        var wrapper = OnnxModulePaths.CommonFirstScope(candidates.Select(c => c.Scopes));
        var layers = candidates.Select(c => new OnnxWeightLayer(
            OnnxModulePaths.Join(c.Scopes), c.Node.Name, c.Op, c.Weight.Name, c.Layout, c.Weight.Dims,
            (TensorElementType)c.Weight.DataType, scanner.ConsumerCounts.GetValueOrDefault(c.Weight.Name),
            c.Weight.Storage)).ToList();
        return new OnnxWeightIndex(modelPath, scanner.Nodes, scanner.Initializers, scanner.ConsumerCounts, layers, wrapper);
    }

    /// <summary>
    /// The layer at <paramref name="modulePath"/>: an exact path first, else the path without the wrapper scope.
    /// False for a path with no mergeable layer.
    /// </summary>
    /// <exception cref="DiffusionException">
    /// The path names more than one weight node (message names both). An ambiguous path is an error rather than a
    /// miss: a caller that skipped it would leave a LoRA layer silently unapplied.
    /// </exception>
    public bool TryGetLayer(string modulePath, [MaybeNullWhen(false)] out OnnxWeightLayer layer)
    {
        ArgumentNullException.ThrowIfNull(modulePath);
        if (!_exact.TryGetValue(modulePath, out var found) && !_withoutWrapper.TryGetValue(modulePath, out found))
        {
            layer = null;
            return false;
        }

        if (found.Count > 1)
        {
            throw new DiffusionException(
                $"The module path '{modulePath}' names {found.Count} weight layers in '{ModelPath}' " +
                $"(nodes {string.Join(", ", found.Select(l => $"'{l.NodeName}'"))}), so a LoRA layer for it cannot be merged unambiguously.");
        }

        layer = found[0];
        return true;
    }

    /// <summary>The base weight as float32 (float16 and bfloat16 widened exactly), from wherever the model keeps it.</summary>
    /// <exception cref="InvalidDataException">The stored bytes do not fit the dims, or the external file is too short.</exception>
    /// <exception cref="FileNotFoundException">An external-data file is missing.</exception>
    public float[] ReadWeight(OnnxWeightLayer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return OnnxWeightData.ReadAsFloat(ModelPath, layer);
    }

    /// <summary>The top-level nodes naming <paramref name="initializerName"/> as an input (for error messages).</summary>
    public IReadOnlyList<string> ConsumersOf(string initializerName) =>
        [.. _nodes.Where(node => node.Inputs.Contains(initializerName, StringComparer.Ordinal)).Select(node => node.Name)];

    /// <summary>A node whose input 1 is a weight a LoRA can be merged into, with its layout; null otherwise.</summary>
    private static (OnnxGraphInitializer Weight, OnnxWeightOp Op, OnnxWeightLayout Layout)? Classify(
        OnnxGraphNode node, Dictionary<string, OnnxGraphInitializer> initializers)
    {
        if (node.Domain is not ("" or "ai.onnx") || node.Inputs.Count < 2
            || !initializers.TryGetValue(node.Inputs[1], out var weight)
            || (TensorElementType)weight.DataType is not (TensorElementType.Float or TensorElementType.Float16 or TensorElementType.BFloat16)
            || weight.Dims.Any(d => d <= 0))
        {
            return null;
        }

        return node.OpType switch
        {
            "MatMul" when weight.Dims.Count == 2 => (weight, OnnxWeightOp.MatMul, OnnxWeightLayout.InOut),

            // alpha scales A·B: with alpha ≠ 1 the weight's delta would be the LoRA's divided by alpha; exporters write 1.
            "Gemm" when weight.Dims.Count == 2 && node.Alpha == 1f =>
                (weight, OnnxWeightOp.Gemm, node.TransB != 0 ? OnnxWeightLayout.OutIn : OnnxWeightLayout.InOut),
            "Conv" when weight.Dims.Count == 4 && node.Group == 1 => (weight, OnnxWeightOp.Conv, OnnxWeightLayout.Conv),
            _ => null,
        };
    }

    private static Dictionary<string, List<OnnxWeightLayer>> Group(List<OnnxWeightLayer> layers, Func<OnnxWeightLayer, string> key)
    {
        var groups = new Dictionary<string, List<OnnxWeightLayer>>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            var path = key(layer);
            if (!groups.TryGetValue(path, out var list))
            {
                groups[path] = list = [];
            }

            list.Add(layer);
        }

        return groups;
    }
}
