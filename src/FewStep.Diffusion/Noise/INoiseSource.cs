namespace FewStep.Diffusion.Noise;

/// <summary>
/// Where every N(0,1) tensor of a generation comes from: the initial latents and each scheduler draw.
/// <paramref name="destination"/> always holds the whole batch, image-major (image 0's elements first), so a
/// source can give each image its own stream and an image does not depend on which batch it ran in.
/// </summary>
public interface INoiseSource
{
    void FillStandardNormal(NoiseDraw draw, Span<float> destination);
}
