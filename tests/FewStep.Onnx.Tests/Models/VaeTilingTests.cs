using System.Text.Json;
using FewStep.Diffusion.Configuration;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Models;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using FewStep.Onnx.Tests.Conformance;

namespace FewStep.Onnx.Tests.Models;

/// <summary>
/// Tiled VAE decoding as diffusers' <c>tiled_decode</c>: tiles of the training size, cropped and placed where they
/// belong, blended linearly over a quarter tile, and only when the latents exceed one tile.
/// </summary>
public sealed class VaeTilingTests : IDisposable
{
    // A VAE trained at 64 px with a scale factor of 8: tiles of 8 latents, 6 apart; blends over 16 px; crops to 48.
    private static readonly VaeConfig s_config = new()
    {
        BlockOutChannels = [1, 1, 1, 1],
        SampleSize = JsonDocument.Parse("64").RootElement.Clone(),
        LatentChannels = 4,
        OutChannels = 3,
    };

    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-tiling-").FullName;
    private readonly OnnxSessionFactory _sessions = new(new OnnxExecutionOptions());

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Tiles_are_cropped_and_placed_where_they_belong()
    {
        // A pointwise "decoder" (nearest ×8 of the first 3 channels): every pixel depends on its own latent only, so
        // tiles put together must give the whole decode wherever they are cut.
        using var session = _sessions.Create("vae_decoder", SyntheticDecoder(means: false));
        var latents = Latents(2, 20, 28);

        var whole = new VaeDecoderModel(session, s_config, imagesPerRun: 0).Decode(latents, 2, 20, 28, null, CancellationToken.None);
        var tiled = new VaeDecoderModel(session, s_config, imagesPerRun: 0, tiling: true).Decode(latents, 2, 20, 28, null, CancellationToken.None);

        Assert.Equal(2 * 3 * 160 * 224, tiled.Length);
        Assert.All(whole.Zip(tiled), p => Assert.Equal(p.First, p.Second, 1e-5f));
    }

    [Fact]
    public void The_tile_below_blends_in_over_a_quarter_tile_with_diffusers_weights()
    {
        // Each tile decodes to its latents' per-channel mean. Six latents wide is one column (tiles start every 6;
        // at 8 wide a second column of 2 would start at 6, as in diffusers); twelve high is two tiles, rows 0–7 and
        // 6–11: A on pixel rows 0–47, then A·(1 − y/16) + B·(y/16) for y in 0–15, then B.
        using var session = _sessions.Create("vae_decoder", SyntheticDecoder(means: true));
        var latents = Latents(1, 12, 6);

        var pixels = new VaeDecoderModel(session, s_config, tiling: true).Decode(latents, 1, 12, 6, null, CancellationToken.None);

        for (var c = 0; c < 3; c++)
        {
            var a = Mean(latents, c, 12, 6, 0, 8);
            var b = Mean(latents, c, 12, 6, 6, 12);
            for (var y = 0; y < 96; y++)
            {
                var expected = y < 48 ? a : y < 64 ? (a * (float)(1 - ((y - 48) / 16.0))) + (b * (float)((y - 48) / 16.0)) : b;
                Assert.All(pixels.AsSpan(((c * 96) + y) * 48, 48).ToArray(), v => Assert.Equal(expected, v, 1e-6f));
            }
        }
    }

    [Fact]
    public void Latents_within_one_tile_decode_whole_even_with_tiling_on()
    {
        using var session = _sessions.Create("vae_decoder", SyntheticDecoder(means: true));
        var latents = Latents(1, 8, 8);

        var plain = new VaeDecoderModel(session, s_config).Decode(latents, 1, 8, 8, null, CancellationToken.None);
        var tiled = new VaeDecoderModel(session, s_config, tiling: true).Decode(latents, 1, 8, 8, null, CancellationToken.None);

        Assert.False(VaeTiling.Applies(s_config, 8, 8));
        Assert.True(VaeTiling.Applies(s_config, 8, 9));
        Assert.Equal(plain, tiled);
    }

    [Fact]
    public void A_pipeline_with_tiling_decodes_large_images_close_to_the_whole_decode()
    {
        // tiny-sd-turbo's VAE was trained at 64 px: a 160 px image is 3×3 tiles.
        var request = new GenerationRequest { Prompts = ["a lighthouse"], Width = 160, Height = 160, NumInferenceSteps = 1 };
        using var whole = TextToImagePipeline.Load(ConformancePaths.Model("tiny-sd-turbo"), _sessions);
        using var tiled = TextToImagePipeline.Load(ConformancePaths.Model("tiny-sd-turbo"), new OnnxSessionFactory(new OnnxExecutionOptions { VaeTiling = true }));

        var expected = whole.Generate(request, new TorchNoiseSource([3])).Images[0].Rgb;
        var actual = tiled.Generate(request, new TorchNoiseSource([3])).Images[0].Rgb;

        var differences = expected.Zip(actual, (a, b) => Math.Abs(a - b)).ToArray();
        Assert.NotEqual(expected, actual); // each tile sees less context, as in diffusers
        // Measured 6.7 levels on this random-weight VAE, whose receptive field is large for its 64 px tiles.
        Assert.True(differences.Average() < 10, $"mean difference {differences.Average():F2} levels");
    }

    private static float[] Latents(int batch, int height, int width) =>
        Enumerable.Range(0, batch * 4 * height * width).Select(i => MathF.Sin(i * 0.37f) + (i % 7 * 0.1f)).ToArray();

    private static float Mean(float[] latents, int channel, int height, int width, int fromRow, int toRow)
    {
        var sum = 0.0;
        for (var y = fromRow; y < toRow; y++)
        {
            for (var x = 0; x < width; x++)
            {
                sum += latents[(((channel * height) + y) * width) + x];
            }
        }

        return (float)(sum / ((toRow - fromRow) * width));
    }

    // latent_sample [n, 4, h, w] → the first 3 channels, nearest-upsampled ×8 → sample; with `means`, every pixel of a
    // channel is instead that channel's mean over the whole input (GlobalAveragePool broadcast over the upsampled zeros).
    private string SyntheticDecoder(bool means)
    {
        static byte[] Int64s(params long[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
        static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
        const int int64 = 7;
        var nodes = new List<byte[]>
        {
            OnnxProtoWriter.Node("Slice", ["latent_sample", "starts", "ends", "axes"], ["rgb"]),
            OnnxProtoWriter.Node("Resize", ["rgb", "", "scales"], [means ? "up" : "sample"]),
        };
        if (means)
        {
            nodes.Add(OnnxProtoWriter.Node("Mul", ["up", "zero"], ["zeros"]));
            nodes.Add(OnnxProtoWriter.Node("GlobalAveragePool", ["rgb"], ["mean"]));
            nodes.Add(OnnxProtoWriter.Node("Add", ["zeros", "mean"], ["sample"]));
        }

        var graph = OnnxProtoWriter.Graph(
            "vae",
            [.. nodes],
            [
                OnnxProtoWriter.Tensor("starts", [1], int64, Int64s(0)),
                OnnxProtoWriter.Tensor("ends", [1], int64, Int64s(3)),
                OnnxProtoWriter.Tensor("axes", [1], int64, Int64s(1)),
                OnnxProtoWriter.Tensor("scales", [4], OnnxProtoWriter.Float, Floats(1, 1, 8, 8)),
                OnnxProtoWriter.Tensor("zero", [], OnnxProtoWriter.Float, Floats(0)),
            ],
            [OnnxProtoWriter.ValueInfo("latent_sample", OnnxProtoWriter.Float, [-1, 4, -1, -1])],
            [OnnxProtoWriter.ValueInfo("sample", OnnxProtoWriter.Float, [-1, 3, -1, -1])]);
        return OnnxProtoWriter.Write(_temp, OnnxProtoWriter.Model(graph), $"vae-{(means ? "means" : "nearest")}.onnx");
    }
}
