namespace FewStep.Diffusion.Noise;

/// <summary>
/// N(0,1) noise from one seeded generator per image, so an image depends only on its own seed: the same seed
/// gives the same image alone or in any batch, on the same machine and execution provider.
/// </summary>
/// <remarks>
/// Draws are sequential per image (initial latents, then each scheduler draw in step order), which is the order
/// every pipeline makes them. Uniforms come from <see cref="Random"/> seeded with the 64-bit seed folded to 32
/// bits; the Box–Muller transform turns pairs of them into Gaussians (.NET has no Gaussian sampler).
/// </remarks>
public sealed class SeededNoiseSource : INoiseSource
{
    private readonly Random[] _generators;

    public SeededNoiseSource(IReadOnlyList<long> seeds)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        if (seeds.Count == 0)
        {
            throw new ArgumentException("At least one seed is needed.", nameof(seeds));
        }

        Seeds = seeds.ToArray();
        _generators = Seeds.Select(seed => new Random(unchecked((int)(seed ^ (seed >>> 32))))).ToArray();
    }

    public IReadOnlyList<long> Seeds { get; }

    public void FillStandardNormal(NoiseDraw draw, Span<float> destination)
    {
        if (destination.Length % _generators.Length != 0)
        {
            throw new ArgumentException(
                $"A noise tensor of {destination.Length} values does not split into {_generators.Length} images.",
                nameof(destination));
        }

        var perImage = destination.Length / _generators.Length;
        for (var image = 0; image < _generators.Length; image++)
        {
            FillGaussian(_generators[image], destination.Slice(image * perImage, perImage));
        }
    }

    private static void FillGaussian(Random random, Span<float> values)
    {
        for (var i = 0; i < values.Length; i += 2)
        {
            // 1 - NextDouble() is in (0, 1], so the logarithm is finite.
            var radius = Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble()));
            var angle = 2.0 * Math.PI * random.NextDouble();
            values[i] = (float)(radius * Math.Cos(angle));
            if (i + 1 < values.Length)
            {
                values[i + 1] = (float)(radius * Math.Sin(angle));
            }
        }
    }
}
