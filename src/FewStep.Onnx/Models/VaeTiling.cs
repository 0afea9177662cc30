using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;

namespace FewStep.Onnx.Models;

/// <summary>
/// diffusers' <c>AutoencoderKL.tiled_decode</c> (<c>enable_vae_tiling</c>): latents larger than the VAE's training
/// size are decoded in overlapping tiles of that size, each tile blended linearly into the one above and the one to
/// its left, so that the decoder's activations never exceed one tile's whatever the image size. The result differs
/// slightly from a whole decode (each tile sees less context), as it does in diffusers.
/// </summary>
/// <remarks>
/// <c>tile_overlap_factor</c> is 0.25 in diffusers' code, not in any config. The blends rewrite the tiles in place and
/// in diffusers' order (row by row, left to right; vertical then horizontal), since a tile's left neighbour has
/// already been blended with the one above it when it is blended into the next.
/// </remarks>
internal static class VaeTiling
{
    private const double TileOverlapFactor = 0.25;

    /// <summary>Whether diffusers would tile latents of this size: either side larger than <c>tile_latent_min_size</c>.</summary>
    public static bool Applies(VaeConfig config, int latentHeight, int latentWidth) =>
        latentHeight > config.TileLatentSize || latentWidth > config.TileLatentSize;

    /// <summary>
    /// Decodes [count, latent_channels, h, w] latents tile by tile with <paramref name="decode"/> (latents of one tile,
    /// its height and width, whether it is the last → its pixels [count, out_channels, th·f, tw·f], owned by the
    /// caller), into [count, out_channels, h·f, w·f].
    /// </summary>
    public static float[] Decode(VaeConfig config, ReadOnlySpan<float> latents, int count, int latentHeight, int latentWidth,
        Func<float[], int, int, bool, float[]> decode)
    {
        var tileLatent = config.TileLatentSize;
        var tileSample = config.TileSampleSize;
        var overlap = (int)(tileLatent * (1 - TileOverlapFactor));
        var blendExtent = (int)(tileSample * TileOverlapFactor);
        var rowLimit = tileSample - blendExtent;
        if (overlap < 1)
        {
            throw new DiffusionException($"The VAE's sample_size {tileSample} is too small to decode in tiles (tiles of {tileLatent} latents).");
        }

        var channels = config.LatentChannels;
        var rows = new List<List<Tile>>();
        for (var i = 0; i < latentHeight; i += overlap)
        {
            var row = new List<Tile>();
            for (var j = 0; j < latentWidth; j += overlap)
            {
                var h = Math.Min(tileLatent, latentHeight - i);
                var w = Math.Min(tileLatent, latentWidth - j);
                var tile = new float[count * channels * h * w];
                for (var n = 0; n < count * channels; n++)
                {
                    for (var y = 0; y < h; y++)
                    {
                        latents.Slice((((n * latentHeight) + i + y) * latentWidth) + j, w).CopyTo(tile.AsSpan(((n * h) + y) * w, w));
                    }
                }

                var f = config.ScaleFactor;
                var last = i + overlap >= latentHeight && j + overlap >= latentWidth;
                row.Add(new Tile(decode(tile, h, w, last), count * config.OutChannels, h * f, w * f));
            }

            rows.Add(row);
        }

        for (var i = 0; i < rows.Count; i++)
        {
            for (var j = 0; j < rows[i].Count; j++)
            {
                if (i > 0)
                {
                    BlendVertical(rows[i - 1][j], rows[i][j], blendExtent);
                }

                if (j > 0)
                {
                    BlendHorizontal(rows[i][j - 1], rows[i][j], blendExtent);
                }
            }
        }

        return Assemble(rows, rowLimit, count * config.OutChannels, latentHeight * config.ScaleFactor, latentWidth * config.ScaleFactor, tileSample);
    }

    // b[:, :, y, :] = a[:, :, -extent + y, :] * (1 - y / extent) + b[:, :, y, :] * (y / extent); the weights are Python
    // floats, which torch rounds to the tensor's float32 before multiplying.
    private static void BlendVertical(Tile a, Tile b, int blendExtent)
    {
        var extent = Math.Min(Math.Min(a.Height, b.Height), blendExtent);
        for (var y = 0; y < extent; y++)
        {
            var (keep, take) = Weights(y, extent);
            for (var n = 0; n < b.Planes; n++)
            {
                var above = a.Pixels.AsSpan(((n * a.Height) + a.Height - extent + y) * a.Width, a.Width);
                var here = b.Pixels.AsSpan(((n * b.Height) + y) * b.Width, b.Width);
                for (var x = 0; x < b.Width; x++)
                {
                    here[x] = (above[x] * keep) + (here[x] * take);
                }
            }
        }
    }

    private static void BlendHorizontal(Tile a, Tile b, int blendExtent)
    {
        var extent = Math.Min(Math.Min(a.Width, b.Width), blendExtent);
        for (var x = 0; x < extent; x++)
        {
            var (keep, take) = Weights(x, extent);
            for (var n = 0; n < b.Planes; n++)
            {
                for (var y = 0; y < b.Height; y++)
                {
                    var left = a.Pixels[(((n * a.Height) + y) * a.Width) + a.Width - extent + x];
                    ref var here = ref b.Pixels[(((n * b.Height) + y) * b.Width) + x];
                    here = (left * keep) + (here * take);
                }
            }
        }
    }

    private static (float Keep, float Take) Weights(int position, int extent) =>
        ((float)(1 - ((double)position / extent)), (float)((double)position / extent));

    // Each tile cropped to [:row_limit, :row_limit], concatenated along the width per row, then the rows along the height.
    private static float[] Assemble(List<List<Tile>> rows, int rowLimit, int planes, int height, int width, int tileSample)
    {
        var croppedHeight = rows.Sum(r => Math.Min(rowLimit, r[0].Height));
        var croppedWidth = rows[0].Sum(t => Math.Min(rowLimit, t.Width));
        if (croppedHeight != height || croppedWidth != width)
        {
            throw new DiffusionException(
                $"Tiles of the VAE's sample_size {tileSample} assemble to {croppedWidth}x{croppedHeight}, not {width}x{height}: " +
                "its sample_size does not match its block_out_channels; decode without Onnx:VaeTiling.");
        }

        var pixels = new float[planes * height * width];
        var top = 0;
        foreach (var row in rows)
        {
            var left = 0;
            var rowHeight = Math.Min(rowLimit, row[0].Height);
            foreach (var tile in row)
            {
                var tileWidth = Math.Min(rowLimit, tile.Width);
                for (var n = 0; n < planes; n++)
                {
                    for (var y = 0; y < rowHeight; y++)
                    {
                        tile.Pixels.AsSpan(((n * tile.Height) + y) * tile.Width, tileWidth)
                            .CopyTo(pixels.AsSpan((((n * height) + top + y) * width) + left, tileWidth));
                    }
                }

                left += tileWidth;
            }

            top += rowHeight;
        }

        return pixels;
    }

    // A decoded tile: `Planes` planes (images × channels) of Height × Width.
    private sealed record Tile(float[] Pixels, int Planes, int Height, int Width);
}
