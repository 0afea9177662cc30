using FewStep.Diffusion.Tensors;

namespace FewStep.Diffusion.Tests.Tensors;

public sealed class LatentMathTests
{
    [Fact]
    public void Guidance_moves_from_uncond_towards_cond()
    {
        float[] uncond = [1f, 2f, -1f];
        float[] cond = [3f, 2f, 1f];
        var result = new float[3];

        LatentMath.CombineGuidance(uncond, cond, 2.5f, result);

        Assert.Equal([6f, 2f, 4f], result);
    }

    [Fact]
    public void Rows_repeat_in_place_order()
    {
        Assert.Equal([1f, 2f, 1f, 2f, 3f, 4f, 3f, 4f], LatentMath.RepeatRows([1f, 2f, 3f, 4f], rows: 2, times: 2));
    }

    [Fact]
    public void Last_axis_concatenation_joins_each_position()
    {
        var joined = LatentMath.ConcatLastAxis([1f, 2f, 3f, 4f], 2, [9f, 8f], 1);

        Assert.Equal([1f, 2f, 9f, 3f, 4f, 8f], joined);
    }

    [Fact]
    public void Finds_the_first_non_finite_value()
    {
        Assert.Equal(-1, LatentMath.IndexOfNonFinite([0f, 1f]));
        Assert.Equal(1, LatentMath.IndexOfNonFinite([0f, float.PositiveInfinity, float.NaN]));
    }

    [Fact]
    public void Postprocessing_maps_minus_one_one_to_bytes_like_diffusers()
    {
        // Two channels of a 1x2 image, NCHW: channel 0 = [-1, 1], channel 1 = [0, 3].
        float[] nchw = [-1f, 1f, 0f, 3f];

        var unit = ImagePostprocessor.ToUnitRangeHwc(nchw, image: 0, channels: 2, height: 1, width: 2);

        Assert.Equal([0f, 0.5f, 1f, 1f], unit);
        Assert.Equal([0, 128, 255, 255], ImagePostprocessor.ToBytes(unit));
    }

    [Fact]
    public void Guidance_embedding_has_sines_then_cosines_of_w_times_1000()
    {
        var embedding = new float[6];

        GuidanceScaleEmbedding.Compute(7f, embedding);

        // half_dim 3: frequencies exp(-k · ln(10000) / 2) = 1, 0.01, 0.0001
        Assert.Equal(MathF.Sin(7000f), embedding[0], 1e-6f);
        Assert.Equal(MathF.Sin(70f), embedding[1], 1e-5f);
        Assert.Equal(MathF.Cos(0.7f), embedding[5], 1e-5f);
        Assert.Throws<DiffusionException>(() => GuidanceScaleEmbedding.Compute(1f, new float[2]));
    }
}
