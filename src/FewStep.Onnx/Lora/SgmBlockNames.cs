using System.Globalization;
using System.Text.RegularExpressions;

namespace FewStep.Onnx.Lora;

/// <summary>
/// Maps the original SGM / LDM UNet names that some kohya SDXL files use (<c>input_blocks_4_1_proj_in</c>) to
/// diffusers' names, still underscored (<c>down_blocks_1_attentions_0_proj_in</c>), so they resolve against the
/// model's layer paths as every other kohya key does.
/// </summary>
/// <remarks>
/// With L = <c>layers_per_block</c>, SGM's input blocks are, level by level, L entries of (resnet [, attention])
/// followed by one downsampler except at the last level; block 0 is <c>conv_in</c>. So input block i >= 1 belongs to
/// <c>down_blocks.{(i-1)/(L+1)}</c> at position k = (i-1)%(L+1): k &lt; L is <c>resnets.k</c> (j = 0) /
/// <c>attentions.k</c> (j = 1), k = L is the downsampler (<c>input_blocks_i_0_op</c>). Output blocks hold L+1
/// entries per level: output block i is <c>up_blocks.{i/(L+1)}</c>, <c>resnets.{i%(L+1)}</c> (j = 0) /
/// <c>attentions.{i%(L+1)}</c> (j = 1), and the level's last entry also holds the upsampler <c>conv</c> (j = 2, or
/// j = 1 in a level without attention). Positions are checked, so a file made for another layers_per_block is
/// refused rather than mapped onto the wrong layers. Same mapping as diffusers' _maybe_map_sgm_blocks_to_diffusers.
/// </remarks>
internal static partial class SgmBlockNames
{
    private static readonly (string Sgm, string Diffusers)[] s_resnetLayers =
    [
        ("in_layers_0", "norm1"),
        ("in_layers_2", "conv1"),
        ("out_layers_0", "norm2"),
        ("out_layers_3", "conv2"),
        ("emb_layers_1", "time_emb_proj"),
        ("skip_connection", "conv_shortcut"),
    ];

    private static readonly Dictionary<string, string> s_topLevel = new(StringComparer.Ordinal)
    {
        ["input_blocks_0_0"] = "conv_in",
        ["time_embed_0"] = "time_embedding_linear_1",
        ["time_embed_2"] = "time_embedding_linear_2",
        ["label_emb_0_0"] = "add_embedding_linear_1",
        ["label_emb_0_2"] = "add_embedding_linear_2",
        ["out_0"] = "conv_norm_out",
        ["out_2"] = "conv_out",
    };

    /// <summary>Whether <paramref name="name"/> (a kohya UNet key's path, underscored) uses SGM block names.</summary>
    public static bool IsSgm(string name) =>
        name.StartsWith("input_blocks_", StringComparison.Ordinal)
        || name.StartsWith("middle_block_", StringComparison.Ordinal)
        || name.StartsWith("output_blocks_", StringComparison.Ordinal)
        || s_topLevel.ContainsKey(name);

    /// <summary>
    /// The diffusers name (underscored) of SGM name <paramref name="name"/>, or null with <paramref name="error"/>
    /// saying why it has none in a UNet with <paramref name="layersPerBlock"/>.
    /// </summary>
    public static string? TryMap(string name, int layersPerBlock, out string error)
    {
        error = "";
        if (s_topLevel.TryGetValue(name, out var topLevel))
        {
            return topLevel;
        }

        var perLevel = layersPerBlock + 1;
        if (InputBlock().Match(name) is { Success: true } input)
        {
            var (i, j, rest) = Parts(input);
            if (i == 0)
            {
                return Refuse(out error, "input block 0 is conv_in and has no inner layers");
            }

            var (level, k) = ((i - 1) / perLevel, (i - 1) % perLevel);

            if (j == 0 && rest == "op")
            {
                return k == layersPerBlock
                    ? $"down_blocks_{level}_downsamplers_0_conv"
                    : Refuse(out error, $"input block {i} is a resnet position with layers_per_block {layersPerBlock}, not a downsampler");
            }

            if (k == layersPerBlock)
            {
                return Refuse(out error, $"input block {i} is the downsampler position with layers_per_block {layersPerBlock}");
            }

            return j switch
            {
                0 => $"down_blocks_{level}_resnets_{k}_{ResnetLayer(rest)}",
                1 => $"down_blocks_{level}_attentions_{k}_{rest}",
                _ => Refuse(out error, $"input blocks have entries 0 (resnet) and 1 (attention), not {j}"),
            };
        }

        if (MiddleBlock().Match(name) is { Success: true } middle)
        {
            var i = int.Parse(middle.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
            var rest = middle.Groups[2].Value;
            return i switch
            {
                0 => $"mid_block_resnets_0_{ResnetLayer(rest)}",
                1 => $"mid_block_attentions_0_{rest}",
                2 => $"mid_block_resnets_1_{ResnetLayer(rest)}",
                _ => Refuse(out error, $"the middle block has entries 0 to 2, not {i}"),
            };
        }

        if (OutputBlock().Match(name) is { Success: true } output)
        {
            var (i, j, rest) = Parts(output);
            var (level, k) = (i / perLevel, i % perLevel);
            if (j >= 1 && rest == "conv")
            {
                return k == layersPerBlock
                    ? $"up_blocks_{level}_upsamplers_0_conv"
                    : Refuse(out error, $"output block {i} is not the last of its level with layers_per_block {layersPerBlock}, so it holds no upsampler");
            }

            return j switch
            {
                0 => $"up_blocks_{level}_resnets_{k}_{ResnetLayer(rest)}",
                1 => $"up_blocks_{level}_attentions_{k}_{rest}",
                _ => Refuse(out error, $"output block entry {j} is an upsampler, whose only weight is 'conv'"),
            };
        }

        error = "it is not an SGM block name this mapping knows";
        return null;
    }

    private static (int I, int J, string Tail) Parts(Match match) =>
        (int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture),
            int.Parse(match.Groups[2].ValueSpan, CultureInfo.InvariantCulture),
            match.Groups[3].Value);

    /// <summary>SGM's ResBlock names (in_layers = GroupNorm, SiLU, Conv; out_layers = GroupNorm, SiLU, Dropout, Conv) as diffusers'.</summary>
    private static string ResnetLayer(string rest)
    {
        foreach (var (sgm, diffusers) in s_resnetLayers)
        {
            if (rest == sgm)
            {
                return diffusers;
            }
        }

        return rest;
    }

    private static string? Refuse(out string error, string why)
    {
        error = why;
        return null;
    }

    [GeneratedRegex(@"^input_blocks_([0-9]{1,6})_([0-9]{1,6})_(.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex InputBlock();

    [GeneratedRegex(@"^middle_block_([0-9]{1,6})_(.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex MiddleBlock();

    [GeneratedRegex(@"^output_blocks_([0-9]{1,6})_([0-9]{1,6})_(.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex OutputBlock();
}
