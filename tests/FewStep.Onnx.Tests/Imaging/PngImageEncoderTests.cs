using FewStep.Onnx.Imaging;
using FewStep.Onnx.Pipelines;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Onnx.Tests.Imaging;

public sealed class PngImageEncoderTests
{
    [Fact]
    public void Png_holds_the_pixels_and_the_generation_parameters()
    {
        var rgb = Enumerable.Range(0, 32 * 16 * 3).Select(i => (byte)(i * 7 % 256)).ToArray();
        var image = new GeneratedImage(0, 0, 32, 16, rgb);
        var parameters = new ImageParameters("ein Fuchs im Schnee, 雪の狐", "blurry", 1234567890123L, 4, 1.5f, 32, 16, "tiny-sd-turbo");

        var png = PngImageEncoder.Encode(image, parameters);

        using var decoded = Image.Load<Rgb24>(png);
        Assert.Equal((32, 16), (decoded.Width, decoded.Height));
        var pixels = new byte[rgb.Length];
        decoded.CopyPixelDataTo(pixels);
        Assert.Equal(rgb, pixels);
        var text = decoded.Metadata.GetPngMetadata().TextData.ToDictionary(t => t.Keyword, t => t.Value, StringComparer.Ordinal);
        Assert.Equal("ein Fuchs im Schnee, 雪の狐", text["prompt"]);
        Assert.Equal("blurry", text["negative_prompt"]);
        Assert.Equal("1234567890123", text["seed"]);
        Assert.Equal("4", text["num_inference_steps"]);
        Assert.Equal("1.5", text["guidance_scale"]);
        Assert.Equal("32", text["width"]);
        Assert.Equal("16", text["height"]);
        Assert.Equal("tiny-sd-turbo", text["model"]);
    }

    [Fact]
    public void No_negative_prompt_means_no_negative_prompt_entry()
    {
        var entries = new ImageParameters("p", null, 1, 1, 0, 8, 8, "m").ToTextEntries();

        Assert.DoesNotContain(entries, e => e.Key == "negative_prompt");
    }
}
