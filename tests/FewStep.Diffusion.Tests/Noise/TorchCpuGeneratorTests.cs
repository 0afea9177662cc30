using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using FewStep.Diffusion.Noise;

namespace FewStep.Diffusion.Tests.Noise;

/// <summary>
/// Every vector of <c>torch_randn.json</c>, both kernels, bit for bit: each entry's draws made in order from one
/// generator (the cached normal of the small path carrying over), with the engine outputs each draw consumed.
/// </summary>
public sealed class TorchCpuGeneratorTests
{
    private static readonly Lazy<JsonElement> s_vectors = new(() => JsonDocument.Parse(File.ReadAllText(ConformancePaths.TorchRandnJson)).RootElement.Clone());

    public static TheoryData<int, string> Entries()
    {
        var data = new TheoryData<int, string>();
        var count = s_vectors.Value.GetProperty("entries").GetArrayLength();
        for (var i = 0; i < count; i++)
        {
            data.Add(i, "avx2");
            data.Add(i, "default");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Every_draw_of_every_entry_matches_torch_bit_for_bit(int entry, string kernelName)
    {
        Assert.True(TorchNoiseSource.TryParseKernel(kernelName, out var kernel));
        var vector = s_vectors.Value.GetProperty("entries")[entry];
        var seed = ulong.Parse(vector.GetProperty("seed").GetRawText(), CultureInfo.InvariantCulture);
        var generator = new TorchCpuGenerator(seed, kernel);
        var consumedBefore = 0L;
        var index = 0;
        foreach (var draw in vector.GetProperty("draws").EnumerateArray())
        {
            var values = new float[draw.GetProperty("numel").GetInt32()];
            generator.Randn(values);
            var expected = draw.GetProperty(kernelName);
            var where = $"seed {seed}, draw {index} ({values.Length} values, {kernelName})";
            if (expected.TryGetProperty("values", out var all))
            {
                Assert.Equal(Floats(all), values);
            }
            else
            {
                Assert.Equal(Floats(expected.GetProperty("first16")), values[..16]);
                Assert.Equal(Floats(expected.GetProperty("last16")), values[^16..]);
            }

            Assert.True(Sha256(values) == expected.GetProperty("sha256").GetString(), $"{where}: sha256 differs");
            var sum = expected.GetProperty("sum").GetDouble();
            Assert.InRange(values.Sum(v => (double)v) - sum, -1e-12 * Math.Max(1, Math.Abs(sum)), 1e-12 * Math.Max(1, Math.Abs(sum)));
            Assert.Equal(draw.GetProperty("mt_outputs_consumed").GetInt64(), generator.OutputsConsumed - consumedBefore);
            Assert.Equal(draw.GetProperty("cached_normal_after").GetBoolean(), generator.HasCachedNormal);
            consumedBefore = generator.OutputsConsumed;
            index++;
        }
    }

    [Fact]
    public void The_engine_gives_mt19937s_first_outputs_for_every_entry()
    {
        foreach (var vector in s_vectors.Value.GetProperty("entries").EnumerateArray())
        {
            var engineSeed = uint.Parse(vector.GetProperty("engine_seed").GetRawText(), CultureInfo.InvariantCulture);
            var engine = new Mt19937(engineSeed);
            var expected = vector.GetProperty("mt19937_first_outputs").EnumerateArray().Select(o => o.GetUInt32()).ToArray();

            Assert.Equal(expected, expected.Select(_ => engine.Next()).ToArray());
        }
    }

    [Fact]
    public void Bulk_outputs_equal_one_at_a_time_outputs_across_several_regenerations()
    {
        var one = new Mt19937(5489);
        var bulk = new Mt19937(5489);
        var expected = Enumerable.Range(0, 3000).Select(_ => one.Next()).ToArray();
        var actual = new uint[3000];

        bulk.Fill(actual.AsSpan(0, 7));
        bulk.Fill(actual.AsSpan(7, 1000));
        actual[1007] = bulk.Next();
        bulk.Fill(actual.AsSpan(1008));

        Assert.Equal(expected, actual);
        Assert.Equal(3000, bulk.Consumed);

        // std::mt19937's 10,000th output for the default seed 5489, the C++ standard's own check.
        var standard = new Mt19937(5489);
        var outputs = new uint[10_000];
        standard.Fill(outputs);
        Assert.Equal(4123659995u, outputs[^1]);
    }

    [Theory]
    [InlineData(0UL, 0UL)]
    [InlineData(4294967295UL, 4294967295UL)]
    [InlineData(4294967296UL, 0UL)]
    [InlineData(9223372036854775807UL, 4294967295UL)]
    [InlineData(4294967301UL, 5UL)]
    public void Only_the_seed_modulo_2_to_the_32_selects_the_stream(ulong seed, ulong same)
    {
        Assert.Equal(Draw(seed, 100), Draw(same, 100));
        Assert.Equal(Draw(seed, 3), Draw(same, 3));
    }

    [Fact]
    public void Manual_seed_restarts_the_stream_and_drops_the_cached_normal()
    {
        var generator = new TorchCpuGenerator(7);
        var first = new float[1];
        generator.Randn(first);
        Assert.True(generator.HasCachedNormal);

        generator.ManualSeed(7);
        Assert.False(generator.HasCachedNormal);
        var again = new float[1];
        generator.Randn(again);

        Assert.Equal(first, again);
        Assert.Equal(4, generator.OutputsConsumed);
    }

    [Fact]
    public void The_vectorised_avx2_blocks_equal_the_scalar_ones_bit_for_bit()
    {
        var generator = new TorchCpuGenerator(123);
        var uniforms = new float[16 * 20_000];
        for (var i = 0; i < uniforms.Length; i++)
        {
            uniforms[i] = generator.NextFloat();
        }

        // The edges of the domain too: u = 0 (u1 = 1, a = 0) and the largest uniform (u1 = 2^-24, a just under 2pi).
        uniforms[0] = 0f;
        uniforms[8] = 0f;
        uniforms[1] = 1f - (1f / (1 << 24));
        uniforms[9] = 1f - (1f / (1 << 24));
        var scalar = (float[])uniforms.Clone();
        var vector = (float[])uniforms.Clone();
        for (var start = 0; start < uniforms.Length; start += 16)
        {
            TorchNormalAvx2.TransformBlockScalar(scalar.AsSpan(start, 16));
            TorchNormalAvx2.TransformBlockVector(vector.AsSpan(start, 16));
        }

        Assert.Equal(scalar.Select(BitConverter.SingleToUInt32Bits), vector.Select(BitConverter.SingleToUInt32Bits));
    }

    [Fact]
    public void Draws_are_standard_normal()
    {
        var values = Draw(2024, 200_000);

        var mean = values.Average(v => (double)v);
        var variance = values.Average(v => ((double)v - mean) * ((double)v - mean));
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.98, 1.02);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
    }

    internal static string Sha256(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private static float[] Draw(ulong seed, int count, TorchNormalKernel kernel = TorchNormalKernel.Avx2)
    {
        var values = new float[count];
        new TorchCpuGenerator(seed, kernel).Randn(values);
        return values;
    }

    private static float[] Floats(JsonElement array) => array.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
}
