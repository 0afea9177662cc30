using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Models;

/// <summary>
/// A T5 encoder export (<c>T5EncoderModel</c>, PixArt's text encoder): <c>input_ids</c> and <c>attention_mask</c> in,
/// <c>last_hidden_state</c> out. Element types come from the session (int64 or int32 ids). External weights
/// (<c>model.onnx_data</c> beside <c>model.onnx</c>, as T5-XXL needs) load because the session is created from the
/// model's path.
/// </summary>
public sealed class T5EncoderModel : IDisposable, Sessions.IOnnxComponent
{
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string LastHiddenState = "last_hidden_state";

    public T5EncoderModel(OnnxModelSession session, T5EncoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(config);
        Session = session;
        Config = config;
        session.RequireInput(InputIds);
        session.RequireOutput(LastHiddenState);
        if (!session.HasInput(AttentionMask))
        {
            // optimum's t5-encoder export has no attention_mask, but PixArtAlphaPipeline passes the mask to the
            // encoder: without it every embedding differs from the reference.
            throw new DiffusionException(
                $"'{session.ModelPath}' has no '{AttentionMask}' input (its inputs: {string.Join(", ", session.Inputs.Keys)}). " +
                "PixArt's pipeline passes the tokenizer's attention mask to the T5 encoder; export it with input_ids and attention_mask.");
        }

        if (config.DModel <= 0)
        {
            throw new DiffusionException($"'{session.ModelPath}': text_encoder/config.json has no d_model; is it a T5 encoder?");
        }
    }

    public OnnxModelSession Session { get; }

    public T5EncoderConfig Config { get; }

    /// <summary>Encodes rows of ids with their masks (all the same length); returns <c>last_hidden_state</c> row-major.</summary>
    public float[] Encode(IReadOnlyList<int[]> ids, IReadOnlyList<int[]> masks, OnnxRunClock? clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(masks);
        var length = ids[0].Length;
        var flatIds = new int[ids.Count * length];
        var flatMask = new int[ids.Count * length];
        for (var r = 0; r < ids.Count; r++)
        {
            ids[r].CopyTo(flatIds, r * length);
            masks[r].CopyTo(flatMask, r * length);
        }

        long[] shape = [ids.Count, length];
        using var idsValue = OrtInputs.Ids(Session, InputIds, flatIds, shape);
        using var maskValue = OrtInputs.Mask(Session, AttentionMask, flatMask, shape);
        using var results = Session.Run([InputIds, AttentionMask], [idsValue, maskValue], [LastHiddenState], clock, cancellationToken);
        return OrtInputs.ReadFloats(Session, LastHiddenState, results[0]);
    }

    public void Dispose() => Session.Dispose();
}
