namespace FewStep.Diffusion.Tensors;

/// <summary>
/// PixArt's <c>resize_and_crop_tensor</c> (diffusers 0.27.2): scale an NCHW batch by the larger of the two side ratios
/// with <c>F.interpolate(mode="bilinear", align_corners=False)</c> (no antialiasing), then crop the centre to the
/// requested size. Used after decoding when resolution binning generated at another size.
/// </summary>
public static class ImageResize
{
    /// <summary>Returns <paramref name="images"/> itself when the size already matches.</summary>
    public static float[] ResizeAndCrop(float[] images, int batch, int channels, int height, int width, int newHeight, int newWidth)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (height == newHeight && width == newWidth)
        {
            return images;
        }

        var ratio = Math.Max((double)newHeight / height, (double)newWidth / width);
        var resizedWidth = (int)(width * ratio);
        var resizedHeight = (int)(height * ratio);
        var startX = (resizedWidth - newWidth) / 2;
        var startY = (resizedHeight - newHeight) / 2;

        // PyTorch (upsample_bilinear2d, align_corners=False, explicit size): source = scale · (dst + 0.5) − 0.5,
        // clamped at 0, with scale = in / out in float32.
        var rows = SourceIndices(height, resizedHeight, startY, newHeight);
        var columns = SourceIndices(width, resizedWidth, startX, newWidth);
        var result = new float[batch * channels * newHeight * newWidth];
        for (var plane = 0; plane < batch * channels; plane++)
        {
            var source = images.AsSpan(plane * height * width, height * width);
            var destination = result.AsSpan(plane * newHeight * newWidth, newHeight * newWidth);
            for (var y = 0; y < newHeight; y++)
            {
                var (y0, y1, ly) = rows[y];
                for (var x = 0; x < newWidth; x++)
                {
                    var (x0, x1, lx) = columns[x];
                    var top = ((1f - lx) * source[(y0 * width) + x0]) + (lx * source[(y0 * width) + x1]);
                    var bottom = ((1f - lx) * source[(y1 * width) + x0]) + (lx * source[(y1 * width) + x1]);
                    destination[(y * newWidth) + x] = ((1f - ly) * top) + (ly * bottom);
                }
            }
        }

        return result;
    }

    private static (int Low, int High, float Weight)[] SourceIndices(int inputSize, int outputSize, int start, int count)
    {
        var scale = (float)inputSize / outputSize;
        var indices = new (int, int, float)[count];
        for (var i = 0; i < count; i++)
        {
            var source = Math.Max((scale * (start + i + 0.5f)) - 0.5f, 0f);
            var low = Math.Min((int)source, inputSize - 1);
            var high = Math.Min(low + 1, inputSize - 1);
            indices[i] = (low, high, source - low);
        }

        return indices;
    }
}
