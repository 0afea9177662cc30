using FewStep.Diffusion.Noise;

namespace FewStep.Diffusion.Tests.Noise;

/// <summary>One torch CPU generator per image, drawn in the pipeline's order.</summary>
public sealed class TorchNoiseSourceTests
{
    [Fact]
    public void Each_image_draws_from_its_own_generator_whatever_the_batch()
    {
        var alone = new TorchNoiseSource([9]);
        var batch = new TorchNoiseSource([5, 9, 7]);
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
    public void Consecutive_draws_continue_one_generator_as_torch_does()
    {
        var source = new TorchNoiseSource([42]);
        var generator = new TorchCpuGenerator(42);
        var first = new float[64];
        var second = new float[64];
        var expected = new float[64];

        source.FillStandardNormal(NoiseDraw.InitialLatents, first);
        source.FillStandardNormal(NoiseDraw.ForStep(0), second);

        generator.Randn(expected);
        Assert.Equal(expected, first);
        generator.Randn(expected);
        Assert.Equal(expected, second);
    }

    [Fact]
    public void The_kernel_changes_last_bits_only()
    {
        var avx2 = new float[4096];
        var scalar = new float[4096];
        new TorchNoiseSource([3], TorchNormalKernel.Avx2).FillStandardNormal(NoiseDraw.InitialLatents, avx2);
        new TorchNoiseSource([3], TorchNormalKernel.Default).FillStandardNormal(NoiseDraw.InitialLatents, scalar);

        Assert.NotEqual(avx2, scalar);
        Assert.All(avx2.Zip(scalar), p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 1e-5f));
    }

    [Fact]
    public void Draws_are_reported_per_image()
    {
        var seen = new List<(NoiseDraw Draw, int Image, int Count)>();
        var source = new TorchNoiseSource([1, 2]) { OnDraw = (draw, image, values) => seen.Add((draw, image, values.Length)) };

        source.FillStandardNormal(NoiseDraw.ForStep(3), new float[64]);

        Assert.Equal([(NoiseDraw.ForStep(3), 0, 32), (NoiseDraw.ForStep(3), 1, 32)], seen);
    }

    [Fact]
    public void A_tensor_that_does_not_split_into_the_images_is_refused()
    {
        var source = new TorchNoiseSource([1, 2]);

        Assert.Throws<ArgumentException>(() => source.FillStandardNormal(NoiseDraw.InitialLatents, new float[5]));
    }

    [Theory]
    [InlineData("avx2", TorchNormalKernel.Avx2)]
    [InlineData("AVX2", TorchNormalKernel.Avx2)]
    [InlineData("default", TorchNormalKernel.Default)]
    public void Kernel_names_parse(string name, TorchNormalKernel kernel)
    {
        Assert.True(TorchNoiseSource.TryParseKernel(name, out var parsed));
        Assert.Equal(kernel, parsed);
        Assert.Equal(name.ToLowerInvariant(), TorchNoiseSource.KernelName(parsed));
        Assert.False(TorchNoiseSource.TryParseKernel("sse", out _));
    }
}
