namespace FewStep.Onnx.Graphs;

/// <summary>
/// Replaces the unfused attention diffusers exports write (for every <c>Attention</c> block of a UNet, transformer
/// or VAE) with ONNX Runtime's <c>com.microsoft.MultiHeadAttention</c>, which on CPU runs a flash-attention kernel
/// that never holds the [batch·heads, tokens, tokens] score matrix. That matrix, and the four more of its size the
/// export computes around it (the scaled scores, a zero <c>baddbmm</c> input, their sum and the softmax), are what
/// made FewStep's memory grow with the square of the image size: at 512² and batch 4 the first UNet level's
/// self-attention holds 2 GB per tensor.
/// </summary>
/// <remarks>
/// The pattern is diffusers' <c>AttnProcessor</c> as <c>torch.onnx</c> traces it (optimum's exports of SD, SDXL,
/// LCM and PixArt, and the real-size skeletons):
/// <code>
/// q, k, v  (B, S, H·d)   → Reshape (B, S, H, d) → Transpose 0213 → Reshape (B·H, S, d)      [head_to_batch_dim]
/// scores = MatMul(q, Transpose 021 (k)) · scale  (+ 0 · ConstantOfShape, baddbmm's beta=0 input)
/// probs  = Softmax(scores, axis -1)               (Casts to float32 around it are allowed)
/// out    = MatMul(probs, v) → Reshape (B, H, S, d) → Transpose 0213 → Reshape (B, S, H·d)   [batch_to_head_dim]
/// </code>
/// An attention mask (a non-zero addend, as CLIP's causal mask or PixArt's cross-attention mask) is not matched and
/// stays as exported, as does any match whose intermediate values are used elsewhere. Only float32 attention is
/// fused on CPU (the CPU kernel has no float16 variant).
/// </remarks>
internal static class AttentionFusion
{
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>
    /// The model with every matched attention fused, or null when none matched (the model is then loaded as it is);
    /// <paramref name="fused"/> counts the fused blocks, <paramref name="attentions"/> the softmax nodes seen.
    /// </summary>
    public static byte[]? Fuse(byte[] model, string source, bool allowFloat16, out int fused, out int attentions)
    {
        var graph = OnnxModelGraph.Parse(model, source);
        var softmaxes = graph.Nodes.Where(n => n.Is("Softmax")).ToList();
        attentions = softmaxes.Count;
        fused = 0;
        if (softmaxes.Count == 0 || graph.HasSubgraphs)
        {
            return null;
        }

        var removed = new HashSet<OnnxNode>();
        var inserted = new Dictionary<OnnxNode, byte[]>();
        foreach (var softmax in softmaxes)
        {
            if (Match(graph, softmax, allowFloat16) is not { } match)
            {
                continue;
            }

            var prefix = match.Output.Name.LastIndexOf('/') is var slash and > 0 ? match.Output.Name[..(slash + 1)] : match.Output.Name + "/";
            inserted[match.Output] = OnnxModelGraph.NodeBytes(
                "MultiHeadAttention", MicrosoftDomain, prefix + "MultiHeadAttention",
                [match.Query, match.Key, match.Value], [match.Output.Outputs[0]],
                [("num_heads", match.Heads)], [("scale", match.Scale)]);
            removed.Add(match.Output);
            fused++;
        }

        return fused == 0 ? null : graph.Write(removed, inserted, (MicrosoftDomain, 1));
    }

    private sealed record AttentionMatch(string Query, string Key, string Value, long Heads, float Scale, OnnxNode Output);

    private static AttentionMatch? Match(OnnxModelGraph graph, OnnxNode softmax, bool allowFloat16)
    {
        if (softmax.Int("axis") is { } axis && axis != -1)
        {
            return null;
        }

        // Backwards from the softmax: scores = MatMul(q, kᵀ) · scale (+ zeros).
        var scores = SkipFloatCasts(graph, softmax.Inputs[0]);
        if (graph.Producer(scores) is { } add && add.Is("Add") && ZeroAddend(graph, add) is { } kept)
        {
            if (!SingleUse(graph, scores))
            {
                return null;
            }

            scores = SkipFloatCasts(graph, kept);
        }

        var scale = 1.0;
        while (graph.Producer(scores) is { } op && (op.Is("Mul") || op.Is("Div")) && SingleUse(graph, scores))
        {
            var (value, other) = ScalarOperand(graph, op);
            if (value is not { } c || other is null || (op.Is("Div") && op.Inputs[1] != Constant(graph, op)))
            {
                return null;
            }

            scale = op.Is("Mul") ? scale * c : scale / c;
            scores = SkipFloatCasts(graph, other);
        }

        if (graph.Producer(scores) is not { } qk || !qk.Is("MatMul") || !SingleUse(graph, scores))
        {
            return null;
        }

        var q = SplitHeads(graph, qk.Inputs[0]);
        if (graph.Producer(qk.Inputs[1]) is not { } kT || !kT.Is("Transpose") || !Perm(kT, 0, 2, 1) || !SingleUse(graph, qk.Inputs[1]))
        {
            return null;
        }

        var k = SplitHeads(graph, kT.Inputs[0]);

        // Forwards: probs · v, then the heads merged back.
        var probs = FollowFloatCasts(graph, softmax.Outputs[0]);
        if (probs is null || Users(graph, probs) is not [var pv] || !pv.Is("MatMul") || pv.Inputs[0] != probs)
        {
            return null;
        }

        var v = SplitHeads(graph, pv.Inputs[1]);
        var merged = MergeHeads(graph, pv.Outputs[0]);
        if (q is null || k is null || v is null || merged is null || q.Value.Heads != k.Value.Heads || q.Value.Heads != v.Value.Heads)
        {
            return null;
        }

        if (!allowFloat16 && ElementType(graph, q.Value.Input) != OnnxModelGraph.Float)
        {
            return null;
        }

        return new AttentionMatch(q.Value.Input, k.Value.Input, v.Value.Input, q.Value.Heads, (float)scale, merged);
    }

    // (B, S, H·d) → Reshape (B, S, H, d) → Transpose 0213 → Reshape (B·H, S, d): the (B, S, H·d) input and H.
    private static (string Input, long Heads)? SplitHeads(OnnxModelGraph graph, string batched)
    {
        if (graph.Producer(batched) is not { } flatten || !flatten.Is("Reshape") || !SingleUse(graph, batched) ||
            graph.Producer(flatten.Inputs[0]) is not { } transpose || !transpose.Is("Transpose") || !Perm(transpose, 0, 2, 1, 3) ||
            !SingleUse(graph, flatten.Inputs[0]) ||
            graph.Producer(transpose.Inputs[0]) is not { } split || !split.Is("Reshape") || !SingleUse(graph, transpose.Inputs[0]))
        {
            return null;
        }

        return HeadCount(graph, split.Inputs[1]) is { } heads and > 0 ? (split.Inputs[0], heads) : null;
    }

    // (B·H, S, d) → Reshape (B, H, S, d) → Transpose 0213 → Reshape (B, S, H·d): the last Reshape.
    private static OnnxNode? MergeHeads(OnnxModelGraph graph, string batched)
    {
        if (Users(graph, batched) is not [var unflatten] || !unflatten.Is("Reshape") || graph.IsGraphOutput(batched) ||
            Users(graph, unflatten.Outputs[0]) is not [var transpose] || !transpose.Is("Transpose") || !Perm(transpose, 0, 2, 1, 3) ||
            Users(graph, transpose.Outputs[0]) is not [var merge] || !merge.Is("Reshape"))
        {
            return null;
        }

        return merge;
    }

    // The head count of a (B, S, H, d) shape: a Concat whose third part is a constant, as torch traces
    // reshape(batch, seq, heads, dim // heads), or a constant shape.
    private static long? HeadCount(OnnxModelGraph graph, string shape)
    {
        if (graph.Producer(shape) is { } concat && concat.Is("Concat") && concat.Inputs.Length == 4)
        {
            return graph.ScalarConstant(concat.Inputs[2]) is { } heads ? (long)heads : null;
        }

        return null;
    }

    private static string? ZeroAddend(OnnxModelGraph graph, OnnxNode add)
    {
        for (var i = 0; i < 2; i++)
        {
            if (graph.Producer(add.Inputs[i]) is { } mul && mul.Is("Mul") && ScalarOperand(graph, mul) is (0.0, { } other) &&
                graph.Producer(other) is { } fill && fill.Is("ConstantOfShape"))
            {
                return add.Inputs[1 - i];
            }
        }

        return null;
    }

    private static (double? Value, string? Other) ScalarOperand(OnnxModelGraph graph, OnnxNode binary)
    {
        if (binary.Inputs.Length != 2)
        {
            return (null, null);
        }

        if (graph.ScalarConstant(binary.Inputs[1]) is { } right)
        {
            return (right, binary.Inputs[0]);
        }

        return graph.ScalarConstant(binary.Inputs[0]) is { } left ? (left, binary.Inputs[1]) : (null, null);
    }

    private static string? Constant(OnnxModelGraph graph, OnnxNode binary) =>
        binary.Inputs.FirstOrDefault(i => graph.ScalarConstant(i) is not null);

    private static string SkipFloatCasts(OnnxModelGraph graph, string name)
    {
        while (graph.Producer(name) is { } cast && cast.Is("Cast") && cast.Int("to") == OnnxModelGraph.Float && SingleUse(graph, name))
        {
            name = cast.Inputs[0];
        }

        return name;
    }

    private static string? FollowFloatCasts(OnnxModelGraph graph, string name)
    {
        while (true)
        {
            if (graph.IsGraphOutput(name))
            {
                return null;
            }

            if (Users(graph, name) is [var cast] && cast.Is("Cast") && cast.Int("to") == OnnxModelGraph.Float)
            {
                name = cast.Outputs[0];
                continue;
            }

            return name;
        }
    }

    // The export also reads these tensors' shapes (for the reshapes and baddbmm's zero input); those Shape nodes die
    // with the attention, so only other readers count. A value still read elsewhere keeps its producers alive (the
    // sweep in OnnxModelGraph.Write only drops what nothing live needs), so a loose match stays correct, only less lean.
    private static List<OnnxNode> Users(OnnxModelGraph graph, string name) =>
        graph.Consumers(name).Where(n => !n.Is("Shape")).ToList();

    private static bool SingleUse(OnnxModelGraph graph, string name) => Users(graph, name).Count == 1 && !graph.IsGraphOutput(name);

    private static bool Perm(OnnxNode transpose, params long[] perm) => transpose.Ints("perm") is { } p && p.SequenceEqual(perm);

    // The element type of a projection output: its MatMul weight's, through a bias Add.
    private static int? ElementType(OnnxModelGraph graph, string name)
    {
        for (var depth = 0; depth < 3 && graph.Producer(name) is { } node; depth++)
        {
            foreach (var input in node.Inputs)
            {
                if (graph.InitializerType(input) is { } type)
                {
                    return type;
                }
            }

            var next = node.Inputs.FirstOrDefault(i => graph.Producer(i) is not null);
            if (next is null)
            {
                return null;
            }

            name = next;
        }

        return null;
    }
}
