using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Models;

/// <summary>
/// A <c>UNet2DConditionModel</c> export: <c>sample</c>, <c>timestep</c>, <c>encoder_hidden_states</c>, plus
/// <c>text_embeds</c> and <c>time_ids</c> (SDXL) or <c>timestep_cond</c> (LCM); out: <c>out_sample</c>.
/// </summary>
public sealed class UNetModel : IDisposable, Sessions.IOnnxComponent
{
    public const string Sample = "sample";
    public const string Timestep = "timestep";
    public const string EncoderHiddenStates = "encoder_hidden_states";
    public const string TextEmbeds = "text_embeds";
    public const string TimeIds = "time_ids";
    public const string TimestepCond = "timestep_cond";
    public const string OutSample = "out_sample";

    public UNetModel(OnnxModelSession session, UNetConfig config)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(config);
        Session = session;
        Config = config;
        session.RequireInput(Sample);
        session.RequireInput(Timestep);
        session.RequireInput(EncoderHiddenStates);
        session.RequireOutput(OutSample);
    }

    public OnnxModelSession Session { get; }

    public UNetConfig Config { get; }

    /// <summary>Per-generation buffers: the constant conditioning bound once, sample and output reused each step.</summary>
    public UNetBuffers CreateBuffers(UNetConditioning conditioning, int latentHeight, int latentWidth)
    {
        ArgumentNullException.ThrowIfNull(conditioning);
        return new UNetBuffers(this, conditioning, latentHeight, latentWidth);
    }

    /// <summary>One UNet call: <paramref name="buffers"/>.Sample in, <paramref name="buffers"/>.Output out.</summary>
    public void Run(UNetBuffers buffers, double timestep, OnnxRunClock? clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        if (!ReferenceEquals(buffers.Owner, this))
        {
            throw new ArgumentException($"These buffers are bound to another UNet than '{Session.ModelPath}'.", nameof(buffers));
        }

        buffers.Sample.Stage();
        buffers.Timestep.Set(timestep);
        buffers.Binding.Run(clock, cancellationToken);
        buffers.Output.Complete();
    }

    public void Dispose() => Session.Dispose();

    internal FloatTensorBinding Bind(string name, ReadOnlySpan<int> shape, float[] values)
    {
        var binding = new FloatTensorBinding(Session, name, Session.RequireInput(name), shape);
        if (values.Length != binding.Data.Length)
        {
            binding.Dispose();
            throw new DiffusionException($"{name} holds {values.Length} values, but '{Session.ModelPath}' is bound with {binding.Data.Length}.");
        }

        values.CopyTo(binding.Data, 0);
        binding.Stage();
        return binding;
    }

    internal void RequireConditioningInput(string name, string why)
    {
        if (!Session.HasInput(name))
        {
            throw new DiffusionException($"'{Session.ModelPath}' has no '{name}' input, which {why} needs: the UNet does not belong to this pipeline.");
        }
    }
}
