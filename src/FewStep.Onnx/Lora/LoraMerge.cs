using System.Diagnostics;
using FewStep.Diffusion;

namespace FewStep.Onnx.Lora;

/// <summary>
/// Merges LoRA layers into an ONNX model's weights: W' = W + Σ s · (alpha / rank) · (up @ down), written in the
/// layout each initializer holds (README "Where the weights are in the ONNX files").
/// </summary>
/// <remarks>
/// Memory: the base model is never copied. Each targeted weight is read alone (as float32), merged, converted to
/// its element type and kept; the float32 working copy of a float16 / bfloat16 weight is dropped right away. So
/// the cost is one merged copy of the targeted weights (bytes in <see cref="MergeStatistics.ReplacedBytes"/>), plus
/// one float32 copy of the largest weight at a time; ONNX Runtime then skips loading those weights from the file.
/// Time: out · in · rank multiply-adds per layer, vectorized, plus reading the targeted weights once.
/// </remarks>
public static class LoraMerge
{
    /// <summary>
    /// Merges the layers of <paramref name="component"/> (others are ignored) from each LoRA in order; several
    /// LoRAs on one layer are added one after the other. Everything is checked before any weight is read.
    /// </summary>
    /// <param name="loras">Each layer with the user's scale s for its file; f = s · alpha / rank.</param>
    /// <exception cref="DiffusionException">
    /// A layer's module has no mergeable weight, or an ambiguous path; shapes that do not fit; a weight shared with
    /// another consumer (changing it would change that consumer too).
    /// </exception>
    public static MergedWeights Merge(OnnxWeightIndex index, string component, IEnumerable<(LoraLayer Layer, float Scale)> loras)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentException.ThrowIfNullOrEmpty(component);
        ArgumentNullException.ThrowIfNull(loras);
        var clock = Stopwatch.StartNew();
        var (plans, order) = Plan(index, component, loras);
        var merged = new List<MergedInitializer>(order.Count);
        try
        {
            foreach (var target in order)
            {
                var weight = OnnxWeightData.ReadAsFloat(index.ModelPath, target, MergedInitializer.AllocateWorkingBuffer(target));
                foreach (var term in plans[target.InitializerName])
                {
                    term.AddTo(weight);
                }

                merged.Add(MergedInitializer.Create(target, weight));
            }
        }
        catch
        {
            merged.ForEach(m => m.Dispose());
            throw;
        }

        var statistics = new MergeStatistics(plans.Values.Sum(t => t.Count), merged.Count, merged.Sum(m => m.Bytes), clock.Elapsed);
        return new MergedWeights(component, index.ModelPath, merged, statistics);
    }

    /// <summary>
    /// Everything <see cref="Merge"/> checks (each layer has a weight of a fitting shape that no other node shares),
    /// without reading a weight: whether a LoRA fits a model, at the cost of its header and the graph.
    /// </summary>
    /// <exception cref="DiffusionException">As <see cref="Merge"/>.</exception>
    public static void Check(OnnxWeightIndex index, string component, IEnumerable<(LoraLayer Layer, float Scale)> loras)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentException.ThrowIfNullOrEmpty(component);
        ArgumentNullException.ThrowIfNull(loras);
        Plan(index, component, loras);
    }

    private static (Dictionary<string, List<LoraTerm>> Plans, List<OnnxWeightLayer> Order) Plan(
        OnnxWeightIndex index, string component, IEnumerable<(LoraLayer Layer, float Scale)> loras)
    {
        var plans = new Dictionary<string, List<LoraTerm>>(StringComparer.Ordinal);
        var order = new List<OnnxWeightLayer>();
        foreach (var (layer, scale) in loras)
        {
            ArgumentNullException.ThrowIfNull(layer);
            if (!string.Equals(layer.Component, component, StringComparison.Ordinal))
            {
                continue;
            }

            var term = LoraTerm.Create(Resolve(index, component, layer), layer, scale, component);
            if (term.Factor == 0f)
            {
                // Adding 0 · (up · down) changes nothing (and would turn a non-finite LoRA value into NaN).
                continue;
            }

            if (!plans.TryGetValue(term.Target.InitializerName, out var terms))
            {
                CheckNotShared(index, term.Target, layer.ModulePath);
                plans[term.Target.InitializerName] = terms = [];
                order.Add(term.Target);
            }

            terms.Add(term);
        }

        return (plans, order);
    }

    private static OnnxWeightLayer Resolve(OnnxWeightIndex index, string component, LoraLayer layer) =>
        index.TryGetLayer(layer.ModulePath, out var target)
            ? target
            : throw new DiffusionException(
                $"LoRA layer '{layer.ModulePath}' ({component}, key '{layer.Down.Key}') has no mergeable weight in '{index.ModelPath}': " +
                "no MatMul, Gemm or Conv node of that module takes its weight from an initializer.");

    /// <summary>
    /// The merged values replace the initializer for every consumer, so a weight another node (or a graph output)
    /// also reads would change there too. The tiny and real exports give every Linear / Conv weight its own
    /// initializer; duplicating one would mean rewriting the graph, which this does not do.
    /// </summary>
    private static void CheckNotShared(OnnxWeightIndex index, OnnxWeightLayer target, string modulePath)
    {
        if (target.ConsumerCount <= 1)
        {
            return;
        }

        var nodes = index.ConsumersOf(target.InitializerName);
        var others = target.ConsumerCount - nodes.Count;
        var elsewhere = others > 0 ? $" and {others} more use(s) in subgraphs or as a graph output" : string.Empty;
        throw new DiffusionException(
            $"Cannot merge LoRA layer '{modulePath}' into '{index.ModelPath}': its weight '{target.InitializerName}' is shared by " +
            $"{target.ConsumerCount} consumers (nodes {string.Join(", ", nodes.Select(n => $"'{n}'"))}{elsewhere}); the export shares " +
            "the weight, and replacing it would change the other consumers too.");
    }
}
