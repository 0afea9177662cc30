namespace FewStep.Onnx.Lora;

/// <summary>
/// Module paths from node names. The PyTorch exporter names a node after the module scopes it was traced in, one
/// <c>/</c>-separated scope per module, list indices kept on their list (<c>down_blocks.0</c>, <c>to_out.0</c>,
/// <c>ff/net.0/proj</c>), and the op last (<c>MatMul</c>, <c>MatMul_1</c>, <c>Conv</c>, <c>Gemm</c>):
/// <c>/unet/down_blocks.0/attentions.0/proj_in/MatMul</c> is module <c>unet.down_blocks.0.attentions.0.proj_in</c>.
/// </summary>
internal static class OnnxModulePaths
{
    /// <summary>The scopes of a node name without the op (empty for a name without any scope, as <c>MatMul_12</c>).</summary>
    public static string[] Scopes(string nodeName)
    {
        var parts = nodeName.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length < 2 ? [] : parts[..^1];
    }

    public static string Join(ReadOnlySpan<string> scopes) => string.Join('.', scopes.ToArray());

    /// <summary>
    /// The export wrapper's scope: the first scope when every weight node has at least two scopes and they all
    /// share that first one. Wrapper exports (a module holding the diffusers / transformers model as
    /// <c>self.unet</c> or <c>self.model</c>) give <c>unet</c> or <c>model</c>; optimum's bare-model exports give
    /// none for a UNet (conv_in, time_embedding, down_blocks.0, ... differ) but <c>text_model</c> for a bare
    /// CLIPTextModel, so a wrapper is only ever added as an alias, and exact paths win (see
    /// <see cref="OnnxWeightIndex.TryGetLayer"/>).
    /// </summary>
    public static string? CommonFirstScope(IEnumerable<string[]> scopeLists)
    {
        string? first = null;
        var any = false;
        foreach (var scopes in scopeLists)
        {
            if (scopes.Length < 2)
            {
                return null;
            }

            if (first is null)
            {
                first = scopes[0];
            }
            else if (!string.Equals(first, scopes[0], StringComparison.Ordinal))
            {
                return null;
            }

            any = true;
        }

        return any ? first : null;
    }
}
