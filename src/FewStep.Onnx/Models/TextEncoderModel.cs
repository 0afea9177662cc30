using System.Globalization;
using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Models;

/// <summary>
/// A CLIP text encoder export (<c>CLIPTextModel</c> or <c>CLIPTextModelWithProjection</c>): <c>input_ids</c> in,
/// <c>last_hidden_state</c>, the pooled output and, when exported with them, <c>hidden_states.N</c> out.
/// </summary>
public sealed class TextEncoderModel : IDisposable, Sessions.IOnnxComponent
{
    public const string InputIds = "input_ids";
    public const string LastHiddenState = "last_hidden_state";
    private const string HiddenStatesPrefix = "hidden_states.";

    // CLIPTextModelWithProjection exports text_embeds; CLIPTextModel exports pooler_output.
    private static readonly string[] s_pooledOutputs = ["text_embeds", "pooler_output"];

    public TextEncoderModel(OnnxModelSession session, TextEncoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(config);
        Session = session;
        Config = config;
        session.RequireInput(InputIds);
        HiddenStateOutputs = session.Outputs.Keys
            .Where(name => name.StartsWith(HiddenStatesPrefix, StringComparison.Ordinal))
            .OrderBy(name => int.Parse(name.AsSpan(HiddenStatesPrefix.Length), CultureInfo.InvariantCulture))
            .ToArray();
        PooledOutput = s_pooledOutputs.FirstOrDefault(session.Outputs.ContainsKey);
    }

    public OnnxModelSession Session { get; }

    public TextEncoderConfig Config { get; }

    /// <summary><c>hidden_states.0</c> (embeddings) to <c>hidden_states.L</c> (last layer), in order.</summary>
    public IReadOnlyList<string> HiddenStateOutputs { get; }

    /// <summary><c>text_embeds</c> (projected, SDXL's encoder 2) or <c>pooler_output</c>; null if not exported.</summary>
    public string? PooledOutput { get; }

    /// <summary>diffusers' <c>hidden_states[-2]</c>: the output SDXL conditions on.</summary>
    public string PenultimateHiddenState => HiddenStateOutputs.Count >= 2
        ? HiddenStateOutputs[^2]
        : throw new DiffusionException(
            $"'{Session.ModelPath}' exports no hidden_states.N outputs; SDXL conditions on the penultimate hidden state. " +
            "Export the text encoders with their hidden states (optimum does this for SDXL).");

    public string RequirePooledOutput() => PooledOutput
        ?? throw new DiffusionException($"'{Session.ModelPath}' exports neither text_embeds nor pooler_output; SDXL needs the pooled embedding.");

    /// <summary>Encodes rows of token ids (all the same length) and returns the named outputs, row-major.</summary>
    public IReadOnlyDictionary<string, float[]> Encode(
        IReadOnlyList<int[]> rows,
        IReadOnlyList<string> outputs,
        OnnxRunClock? clock,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(outputs);
        var length = rows[0].Length;
        var ids = new int[rows.Count * length];
        for (var r = 0; r < rows.Count; r++)
        {
            rows[r].CopyTo(ids, r * length);
        }

        foreach (var output in outputs)
        {
            Session.RequireOutput(output);
        }

        using var input = OrtInputs.Ids(Session, InputIds, ids, [rows.Count, length]);
        using var results = Session.Run([InputIds], [input], outputs.ToArray(), clock, cancellationToken);
        var named = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var i = 0;
        foreach (var value in results)
        {
            named[outputs[i]] = OrtInputs.ReadFloats(Session, outputs[i], value);
            i++;
        }

        return named;
    }

    public void Dispose() => Session.Dispose();
}
