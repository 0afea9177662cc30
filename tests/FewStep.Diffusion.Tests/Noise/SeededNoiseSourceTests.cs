using FewStep.Diffusion.Noise;

namespace FewStep.Diffusion.Tests.Noise;

public sealed class SeededNoiseSourceTests
{
    [Fact]
    public void Same_seed_same_draws()
    {
        var a = Draw(new SeededNoiseSource([42]), 1000);
        var b = Draw(new SeededNoiseSource([42]), 1000);

        Assert.Equal(a, b);
        Assert.NotEqual(a, Draw(new SeededNoiseSource([43]), 1000));
    }

    [Fact]
    public void Each_image_draws_from_its_own_seed_whatever_the_batch()
    {
        var alone = new SeededNoiseSource([9]);
        var batch = new SeededNoiseSource([5, 9, 7]);
        var single = new float[64];
        var triple = new float[192];

        alone.FillStandardNormal(NoiseDraw.InitialLatents, single);
        batch.FillStandardNormal(NoiseDraw.InitialLatents, triple);
        Assert.Equal(single, triple[64..128]);

        alone.FillStandardNormal(NoiseDraw.ForStep(0), single);
        batch.FillStandardNormal(NoiseDraw.ForStep(0), triple);
        Assert.Equal(single, triple[64..128]);
    }

    [Fact]
    public void Seeds_that_differ_only_in_the_high_bits_give_different_noise()
    {
        Assert.NotEqual(Draw(new SeededNoiseSource([1L]), 16), Draw(new SeededNoiseSource([1L + (1L << 40)]), 16));
    }

    [Fact]
    public void Draws_are_standard_normal()
    {
        var values = Draw(new SeededNoiseSource([2024]), 200_001);

        var mean = values.Average(v => (double)v);
        var variance = values.Average(v => ((double)v - mean) * ((double)v - mean));
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.98, 1.02);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
        Assert.InRange(values.Count(v => Math.Abs(v) > 1.96f) / (double)values.Length, 0.045, 0.055);
    }

    [Fact]
    public void A_tensor_that_does_not_split_into_the_images_is_refused()
    {
        var source = new SeededNoiseSource([1, 2]);

        Assert.Throws<ArgumentException>(() => source.FillStandardNormal(NoiseDraw.InitialLatents, new float[5]));
    }

    private static float[] Draw(SeededNoiseSource source, int count)
    {
        var values = new float[count];
        source.FillStandardNormal(NoiseDraw.InitialLatents, values);
        return values;
    }
}
