namespace FewStep.Diffusion.Tensors;

/// <summary>
/// diffusers' <c>VaeImageProcessor.postprocess</c> for <c>output_type="np"</c> and <c>numpy_to_pil</c>:
/// NCHW in about [-1, 1] to NHWC in [0, 1] (<c>(x / 2 + 0.5).clamp(0, 1)</c>), then to 8-bit with
/// <c>round(x · 255)</c> (round half to even, as numpy rounds).
/// </summary>
public static class ImagePostprocessor
{
    /// <summary>One image of a decoded batch as NHWC floats in [0, 1].</summary>
    public static float[] ToUnitRangeHwc(ReadOnlySpan<float> decodedNchw, int image, int channels, int height, int width)
    {
        var plane = height * width;
        var source = decodedNchw.Slice(image * channels * plane, channels * plane);
        var result = new float[channels * plane];
        for (var c = 0; c < channels; c++)
        {
            for (var p = 0; p < plane; p++)
            {
                result[(p * channels) + c] = Math.Clamp((source[(c * plane) + p] / 2f) + 0.5f, 0f, 1f);
            }
        }

        return result;
    }

    /// <summary>HWC floats in [0, 1] to 8-bit values.</summary>
    public static byte[] ToBytes(ReadOnlySpan<float> unitRange)
    {
        var bytes = new byte[unitRange.Length];
        for (var i = 0; i < unitRange.Length; i++)
        {
            bytes[i] = (byte)MathF.Round(unitRange[i] * 255f, MidpointRounding.ToEven);
        }

        return bytes;
    }
}
