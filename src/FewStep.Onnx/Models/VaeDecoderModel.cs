using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Models;

/// <summary>An <c>AutoencoderKL</c> decoder export: <c>latent_sample</c> in, <c>sample</c> (NCHW, about [-1, 1]) out.</summary>
public sealed class VaeDecoderModel : IDisposable
{
    public const string LatentSample = "latent_sample";
    public const string Sample = "sample";

    public VaeDecoderModel(OnnxModelSession session, VaeConfig config)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(config);
        Session = session;
        Config = config;
        session.RequireInput(LatentSample);
        session.RequireOutput(Sample);
    }

    public OnnxModelSession Session { get; }

    public VaeConfig Config { get; }

    /// <summary>Decodes [batch, latent_channels, h, w] latents into [batch, out_channels, h·f, w·f] pixels.</summary>
    public float[] Decode(float[] latents, int batch, int latentHeight, int latentWidth, OnnxRunClock? clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(latents);
        var f = Config.ScaleFactor;
        using var input = new FloatTensorBinding(Session, LatentSample, Session.RequireInput(LatentSample),
            [batch, Config.LatentChannels, latentHeight, latentWidth]);
        using var output = new FloatTensorBinding(Session, Sample, Session.RequireOutput(Sample),
            [batch, Config.OutChannels, latentHeight * f, latentWidth * f]);
        latents.CopyTo(input.Data, 0);
        input.Stage();
        Session.Run([LatentSample], [input.Value], [Sample], [output.Value], clock, cancellationToken);
        output.Complete();
        return output.Data;
    }

    public void Dispose() => Session.Dispose();
}
