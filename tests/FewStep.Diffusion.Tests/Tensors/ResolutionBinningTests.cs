using FewStep.Diffusion.Tensors;

namespace FewStep.Diffusion.Tests.Tensors;

public sealed class ResolutionBinningTests
{
    [Theory]
    [InlineData(1024, 1024, 1024, 1024)]
    [InlineData(64, 64, 1024, 1024)]
    [InlineData(768, 1344, 768, 1344)]
    [InlineData(720, 1280, 768, 1344)]
    [InlineData(1280, 720, 1344, 768)]
    [InlineData(512, 2048, 512, 2048)]
    [InlineData(100, 10000, 512, 2048)]
    public void Sizes_go_to_the_closest_1024_bin(int height, int width, int binHeight, int binWidth)
    {
        var bins = ResolutionBinning.BinsFor(128)!;

        Assert.Equal((binHeight, binWidth), ResolutionBinning.Classify(height, width, bins));
    }

    [Fact]
    public void Tables_exist_for_the_three_sample_sizes_only()
    {
        Assert.Equal((512, 512), ResolutionBinning.Classify(64, 64, ResolutionBinning.BinsFor(64)!));
        Assert.Equal((256, 256), ResolutionBinning.Classify(64, 64, ResolutionBinning.BinsFor(32)!));
        Assert.Null(ResolutionBinning.BinsFor(96));
        Assert.Null(ResolutionBinning.BinsFor(null));
        Assert.All([128, 64, 32], s => Assert.Equal(33, ResolutionBinning.BinsFor(s)!.Count));
    }

    [Fact]
    public void Resize_and_crop_is_identity_at_the_same_size()
    {
        float[] image = [1, 2, 3, 4];

        Assert.Same(image, ImageResize.ResizeAndCrop(image, 1, 1, 2, 2, 2, 2));
    }

    [Fact]
    public void Resize_and_crop_matches_pytorch_bilinear_and_centre_crop()
    {
        // 1×1×2×4 to 2×2: ratio max(2/2, 2/4) = 1 → no scaling, centre crop of columns 1..2.
        float[] wide = [0, 1, 2, 3, 10, 11, 12, 13];
        Assert.Equal([1f, 2f, 11f, 12f], ImageResize.ResizeAndCrop(wide, 1, 1, 2, 4, 2, 2));

        // 1×1×2×2 to 4×4 (align_corners=False): F.interpolate([[0, 1], [2, 3]], size=(4, 4), mode="bilinear").
        float[] small = [0, 1, 2, 3];
        float[] expected =
        [
            0f, 0.25f, 0.75f, 1f,
            0.5f, 0.75f, 1.25f, 1.5f,
            1.5f, 1.75f, 2.25f, 2.5f,
            2f, 2.25f, 2.75f, 3f,
        ];
        Assert.Equal(expected, ImageResize.ResizeAndCrop(small, 1, 1, 2, 2, 4, 4));
    }
}
