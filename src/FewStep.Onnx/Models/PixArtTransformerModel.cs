using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Models;

/// <summary>
/// A PixArt <c>Transformer2DModel</c> export: <c>hidden_states</c>, <c>encoder_hidden_states</c>, <c>timestep</c>,
/// <c>encoder_attention_mask</c>, and <c>resolution</c> + <c>aspect_ratio</c> when the config's <c>sample_size</c> is
/// 128; out: <c>out_hidden_states</c>. (optimum has no PixArt exporter: the names are diffusers' <c>forward()</c>
/// arguments and <c>added_cond_kwargs</c> keys.) Element types and ranks come from the session.
/// </summary>
public sealed class PixArtTransformerModel : IDisposable, Sessions.IOnnxComponent
{
    public const string HiddenStates = "hidden_states";
    public const string EncoderHiddenStates = "encoder_hidden_states";
    public const string Timestep = "timestep";
    public const string EncoderAttentionMask = "encoder_attention_mask";
    public const string Resolution = "resolution";
    public const string AspectRatio = "aspect_ratio";
    public const string OutHiddenStates = "out_hidden_states";

    public PixArtTransformerModel(OnnxModelSession session, TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(config);
        Session = session;
        Config = config;
        session.RequireInput(HiddenStates);
        session.RequireInput(EncoderHiddenStates);
        session.RequireInput(Timestep);
        session.RequireInput(EncoderAttentionMask);
        session.RequireOutput(OutHiddenStates);
        if (config.UsesResolutionConditions)
        {
            session.RequireInput(Resolution);
            session.RequireInput(AspectRatio);
        }

        string[] known = [HiddenStates, EncoderHiddenStates, Timestep, EncoderAttentionMask, .. config.UsesResolutionConditions ? new[] { Resolution, AspectRatio } : []];
        var unexpected = session.Inputs.Keys.Where(name => !known.Contains(name, StringComparer.Ordinal)).ToArray();
        if (unexpected.Length > 0)
        {
            throw new DiffusionException(
                $"'{session.ModelPath}' takes inputs a PixArtAlphaPipeline does not give it: {string.Join(", ", unexpected)} " +
                $"(transformer sample_size {config.SampleSize?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unset"}; " +
                "resolution and aspect_ratio are passed only when it is 128).");
        }
    }

    public OnnxModelSession Session { get; }

    public TransformerConfig Config { get; }

    /// <summary>Per-generation buffers: the constant conditioning bound once, hidden states and output reused each step.</summary>
    public Buffers CreateBuffers(TransformerConditioning conditioning, int latentHeight, int latentWidth)
    {
        ArgumentNullException.ThrowIfNull(conditioning);
        return new Buffers(this, conditioning, latentHeight, latentWidth);
    }

    /// <summary>One transformer call at <paramref name="timestep"/>, repeated over the batch as the model declares it.</summary>
    public void Run(Buffers buffers, double timestep, OnnxRunClock? clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        if (!ReferenceEquals(buffers.Owner, this))
        {
            throw new ArgumentException($"These buffers are bound to another transformer than '{Session.ModelPath}'.", nameof(buffers));
        }

        buffers.HiddenStates.Stage();
        buffers.Timestep.Set(timestep);
        buffers.Binding.Run(clock, cancellationToken);
        buffers.Output.Complete();
    }

    public void Dispose() => Session.Dispose();

    /// <summary>The tensors of one generation's transformer calls, allocated once and reused on every step.</summary>
    public sealed class Buffers : IDisposable, Pipelines.IDenoiserBuffers
    {
        private readonly List<IDisposable> _owned = [];
        private readonly PixArtTransformerModel _model;
        private readonly DeviceBinding _binding;

        internal Buffers(PixArtTransformerModel model, TransformerConditioning conditioning, int latentHeight, int latentWidth)
        {
            _model = model;
            var session = model.Session;
            var rows = conditioning.Rows;
            Rows = rows;
            _binding = Own(new DeviceBinding(session));
            try
            {
                HiddenStates = Own(new FloatTensorBinding(session, PixArtTransformerModel.HiddenStates, session.RequireInput(PixArtTransformerModel.HiddenStates),
                    [rows, model.Config.InChannels, latentHeight, latentWidth]));
                Output = Own(new FloatTensorBinding(session, OutHiddenStates, session.RequireOutput(OutHiddenStates),
                    [rows, model.Config.OutputChannels, latentHeight, latentWidth]));
                Timestep = Own(new TimestepBinding(session, PixArtTransformerModel.Timestep, rows));
                _binding.BindInput(PixArtTransformerModel.HiddenStates, HiddenStates.Value);
                _binding.BindInput(PixArtTransformerModel.Timestep, Timestep.Value);
                _binding.BindOutput(OutHiddenStates, Output.Value);

                void AddFloats(string name, float[] data, int[] shape)
                {
                    var binding = Own(new FloatTensorBinding(session, name, session.RequireInput(name), shape));
                    data.CopyTo(binding.Data, 0);
                    binding.Stage();
                    _binding.BindConstant(name, binding.Value);
                }

                AddFloats(EncoderHiddenStates, conditioning.EncoderHiddenStates, [rows, conditioning.SequenceLength, conditioning.HiddenWidth]);
                _binding.BindConstant(EncoderAttentionMask,
                    Own(OrtInputs.Mask(session, EncoderAttentionMask, conditioning.EncoderAttentionMask, [rows, conditioning.SequenceLength])));
                if (conditioning.Resolution is { } resolution && conditioning.AspectRatio is { } aspectRatio)
                {
                    AddFloats(Resolution, resolution, [rows, 2]);
                    AddFloats(AspectRatio, aspectRatio, [rows, 1]);
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public int Rows { get; }

        /// <summary>The transformer input <c>timestep</c>, one per row: set before each call.</summary>
        public TimestepBinding Timestep { get; } = null!;

        /// <summary>The transformer input <c>hidden_states</c> [rows, in_channels, h, w]: write it before each call.</summary>
        public FloatTensorBinding HiddenStates { get; } = null!;

        /// <summary>The transformer output <c>out_hidden_states</c> [rows, out_channels, h, w]: read it after each call.</summary>
        public FloatTensorBinding Output { get; } = null!;

        internal DeviceBinding Binding => _binding;

        /// <summary>The transformer these buffers are bound to.</summary>
        internal PixArtTransformerModel Owner => _model;

        string Pipelines.IDenoiserBuffers.Name => "transformer";

        float[] Pipelines.IDenoiserBuffers.Input => HiddenStates.Data;

        float[] Pipelines.IDenoiserBuffers.Output => Output.Data;

        void Pipelines.IDenoiserBuffers.Run(double timestep, OnnxRunClock? clock, CancellationToken cancellationToken) =>
            _model.Run(this, timestep, clock, cancellationToken);

        // The transformer takes the timestep once per row.
        IReadOnlyList<long> Pipelines.IDenoiserBuffers.TimestepInput(double timestep) => Enumerable.Repeat((long)timestep, Rows).ToArray();

        public void Dispose()
        {
            foreach (var owned in _owned)
            {
                owned.Dispose();
            }
        }


        private T Own<T>(T item)
            where T : IDisposable
        {
            _owned.Add(item);
            return item;
        }
    }
}
