namespace FewStep.Onnx.Sessions;

/// <summary>A model component (UNet, VAE decoder, text encoder, transformer) run by one session.</summary>
public interface IOnnxComponent
{
    OnnxModelSession Session { get; }
}
