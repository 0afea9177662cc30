using System.Security.Cryptography;
using FewStep.Diffusion;
using FewStep.Onnx.Lora;
using static FewStep.Onnx.Tests.Lora.SafetensorsWriter;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// The safetensors reader: float dtypes widened exactly, the header read in order with its metadata, and every
/// malformed header refused with the file and the tensor named, before any data is trusted.
/// </summary>
public sealed class SafetensorsFileTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Float_dtypes_are_widened_exactly()
    {
        var smallestSubnormal = (float)BitConverter.UInt16BitsToHalf(1);
        var path = Write(Path.Combine(_temp, "dtypes.safetensors"),
        [
            F32("f32", [2, 2], 1.5f, -0.1f, float.MaxValue, float.Epsilon),
            F16("f16", [4], 0.1f, -65504f, smallestSubnormal, 3.14159f),
            BF16("bf16", [3], 1f, -3.140625f, 1.5e-20f),
            F64("f64", [2], 0.1, -2.5),
        ]);

        using var file = SafetensorsFile.Open(path);

        Assert.Equal([1.5f, -0.1f, float.MaxValue, float.Epsilon], file.ReadFloat32("f32").Data);
        Assert.Equal([(float)(Half)0.1f, -65504f, smallestSubnormal, (float)(Half)3.14159f], file.ReadFloat32("f16").Data);
        var bf16 = file.ReadFloat32("bf16").Data;
        Assert.Equal(1f, bf16[0]);
        Assert.Equal(-3.140625f, bf16[1]);
        Assert.Equal(BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(1.5e-20f) & 0xFFFF0000), bf16[2]);
        Assert.Equal([0.1f, -2.5f], file.ReadFloat32("f64").Data);
        Assert.Equal([2, 2], file.ReadFloat32("f32").Shape);
    }

    [Fact]
    public void The_header_is_read_in_order_with_its_metadata_and_byte_ranges()
    {
        var path = Write(Path.Combine(_temp, "header.safetensors"),
            [Ramp("b", 2, 3), Ramp("a", 4), new SafetensorsEntry("steps", "I64", [], new byte[8])],
            new Dictionary<string, string> { ["format"] = "pt", ["ss_network_dim"] = "4" });

        using var file = SafetensorsFile.Open(path);

        Assert.Equal(["b", "a", "steps"], file.Names);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(2, file.Metadata.Count);
        Assert.True(file.TryGetInfo("a", out var info));
        Assert.Equal(new SafetensorsTensorInfo("a", "F32", info.Shape, 24, 40), info);
        Assert.Equal([4], info.Shape);
        Assert.Equal(16, info.ByteLength);
        Assert.False(file.TryGetInfo("c", out _));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), file.ComputeSha256());
    }

    [Fact]
    public void A_tensor_larger_than_the_read_chunk_is_read_whole()
    {
        var values = Enumerable.Range(0, 700_000).Select(i => i * 0.25f).ToArray();
        var path = Write(Path.Combine(_temp, "large.safetensors"), [Ramp("small", 3), F32("large", [700, 1000], values)]);

        using var file = SafetensorsFile.Open(path);

        Assert.Equal(values, file.ReadFloat32("large").Data);
    }

    [Fact]
    public void An_integer_tensor_opens_but_is_no_weight()
    {
        var path = Write(Path.Combine(_temp, "int.safetensors"), [new SafetensorsEntry("counter", "I64", [2], new byte[16])]);
        using var file = SafetensorsFile.Open(path);

        var error = Assert.Throws<DiffusionException>(() => file.ReadFloat32("counter"));

        Assert.Contains("int.safetensors", error.Message, StringComparison.Ordinal);
        Assert.Contains("'counter' is I64", error.Message, StringComparison.Ordinal);
        Assert.Contains("no tensor 'other'", Assert.Throws<DiffusionException>(() => file.ReadFloat32("other")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_metadata_null_and_zero_sized_tensors_are_valid()
    {
        var path = WriteRaw(Path.Combine(_temp, "empty.safetensors"),
            """{"__metadata__": null, "none": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]}}  """, []);

        using var file = SafetensorsFile.Open(path);

        Assert.Empty(file.Metadata);
        Assert.Empty(file.ReadFloat32("none").Data);
    }

    [Theory]
    [InlineData("""[1, 2]""", "", "not an object")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}""", "", "not valid JSON")]
    [InlineData("""{"t": 4}""", "'t'", "not an object")]
    [InlineData("""{"t": {"shape": [1], "data_offsets": [0, 4]}}""", "'t'", "no dtype")]
    [InlineData("""{"t": {"dtype": 1, "shape": [1], "data_offsets": [0, 4]}}""", "'t'", "dtype is not a string")]
    [InlineData("""{"t": {"dtype": "F32", "data_offsets": [0, 4]}}""", "'t'", "no shape")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [1]}}""", "'t'", "no data_offsets")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}""", "'t'", "dimension 0 (-1)")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [1, 0.5], "data_offsets": [0, 4]}}""", "'t'", "dimension 1 (0.5)")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [1, "2"], "data_offsets": [0, 4]}}""", "'t'", "dimension 1")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16, 20]}}""", "'t'", "not an array [begin, end]")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [4], "data_offsets": [-4, 12]}}""", "'t'", "not a non-negative integer")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}""", "'t'", "run past the end of the 16-byte buffer")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}""", "'t'", "end before they begin")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}""", "'t'", "hold 16 bytes, but shape [3] of F32 needs 12")]
    [InlineData("""{"t": {"dtype": "F16", "shape": [2147483647, 2147483647, 2147483647], "data_offsets": [0, 16]}}""", "'t'", "needs more than")]
    [InlineData("""{"t": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}""", "'t'", "'F128' is not a safetensors dtype")]
    [InlineData("""{"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""", "", "names 't' twice")]
    [InlineData("""{"t": {"dtype": "F32", "dtype": "F16", "shape": [4], "data_offsets": [0, 16]}}""", "'t'", "names 'dtype' twice")]
    [InlineData("""{"__metadata__": {"a": 1}}""", "", "entry 'a' is a JSON Number")]
    [InlineData("""{"__metadata__": ["a"]}""", "", "__metadata__ is a JSON Array")]
    [InlineData("""{"__metadata__": {"a": "1", "a": "2"}}""", "", "names 'a' twice")]
    public void A_malformed_header_is_refused_naming_file_and_tensor(string header, string tensor, string why)
    {
        var path = WriteRaw(Path.Combine(_temp, "broken.safetensors"), header, new byte[16]);

        var error = Assert.Throws<DiffusionException>(() => SafetensorsFile.Open(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a valid safetensors file", error.Message, StringComparison.Ordinal);
        Assert.Contains(tensor, error.Message, StringComparison.Ordinal);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_length_past_the_file_or_the_limit_is_refused()
    {
        var past = WriteRaw(Path.Combine(_temp, "past.safetensors"), "{}", [], headerLength: 3);
        var huge = WriteRaw(Path.Combine(_temp, "huge.safetensors"), "{}", [], headerLength: 100_000_001);
        var tiny = Path.Combine(_temp, "tiny.safetensors");
        File.WriteAllBytes(tiny, [1, 0, 0]);

        Assert.Contains("runs past the end of the 10-byte file", Open(past), StringComparison.Ordinal);
        Assert.Contains("over the limit of 100000000 bytes", Open(huge), StringComparison.Ordinal);
        Assert.Contains("has 3 bytes", Open(tiny), StringComparison.Ordinal);
        Assert.Contains("Cannot open", Open(Path.Combine(_temp, "missing.safetensors")), StringComparison.Ordinal);

        static string Open(string path)
        {
            var message = Assert.Throws<DiffusionException>(() => SafetensorsFile.Open(path)).Message;
            Assert.Contains(path, message, StringComparison.Ordinal);
            return message;
        }
    }
}
