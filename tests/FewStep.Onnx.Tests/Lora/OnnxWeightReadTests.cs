using System.Runtime.InteropServices;
using FewStep.Onnx.Lora;
using static FewStep.Onnx.Tests.Lora.SyntheticModels;
using static FewStep.Onnx.Tests.Models.OnnxProtoWriter;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>A base weight is read from wherever the model keeps it and widened exactly to float32.</summary>
public sealed class OnnxWeightReadTests : IDisposable
{
    private static readonly float[] s_values = [0.5f, -2.25f, 1024f, 3.140625f, -0f, 65504f, 1e-3f, -7.75f];

    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-lora-read-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Every_weight_of_the_tiny_unet_reads_as_its_raw_data()
    {
        var path = Path.Combine(ConformancePaths.Model("tiny-sd-turbo"), "unet", "model.onnx");
        var raw = OnnxModelRewriter.ReadRawData(File.ReadAllBytes(path));
        var index = OnnxWeightIndex.Read(path);

        Assert.All(index.Layers, layer => Assert.Equal(raw[layer.InitializerName], LoraTestData.FloatBytes(index.ReadWeight(layer))));
    }

    [Theory]
    [InlineData("raw")]
    [InlineData("float_data packed")]
    [InlineData("float_data unpacked")]
    [InlineData("model.onnx_data")]
    [InlineData("model.onnx.data")]
    [InlineData("weights/unet.bin")]
    public void A_float32_weight_reads_from_each_storage(string storage)
    {
        var tensor = storage switch
        {
            "raw" => Tensor("w", [2, 4], raw: LoraTestData.FloatBytes(s_values)),
            "float_data packed" => TypedTensor("w", [2, 4], Float, floats: s_values),
            "float_data unpacked" => TypedTensor("w", [2, 4], Float, floats: s_values, packed: false),
            _ => External(storage, LoraTestData.FloatBytes(s_values), Float),
        };

        Assert.Equal(s_values, Read(tensor, out var layer));
        Assert.Equal(storage.StartsWith("float_data", StringComparison.Ordinal) ? OnnxTensorStorageKind.TypedData
            : storage == "raw" ? OnnxTensorStorageKind.RawData : OnnxTensorStorageKind.External, layer.Storage.Kind);
    }

    [Theory]
    [InlineData("raw", Float16Data)]
    [InlineData("int32_data packed", Float16Data)]
    [InlineData("int32_data unpacked", Float16Data)]
    [InlineData("model.onnx_data", Float16Data)]
    [InlineData("raw", BFloat16Data)]
    [InlineData("int32_data packed", BFloat16Data)]
    public void A_16_bit_weight_is_widened_exactly(string storage, int dataType)
    {
        var bits = dataType == Float16Data
            ? s_values.Select(v => BitConverter.HalfToUInt16Bits((Half)v)).ToArray()
            : s_values.Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray();
        var expected = dataType == Float16Data
            ? bits.Select(b => (float)BitConverter.UInt16BitsToHalf(b)).ToArray()
            : bits.Select(b => BitConverter.UInt32BitsToSingle((uint)b << 16)).ToArray();
        var raw = MemoryMarshal.AsBytes(bits.AsSpan()).ToArray();
        var tensor = storage switch
        {
            "raw" => Tensor("w", [2, 4], dataType, raw: raw),
            "int32_data packed" => TypedTensor("w", [2, 4], dataType, halves: bits),
            "int32_data unpacked" => TypedTensor("w", [2, 4], dataType, halves: bits, packed: false),
            _ => External(storage, raw, dataType),
        };

        Assert.Equal(expected, Read(tensor, out _));
    }

    [Fact]
    public void A_missing_external_file_is_named()
    {
        var tensor = Tensor("w", [2, 4], location: "gone.bin", offset: 0, length: 32);

        var error = Assert.Throws<FileNotFoundException>(() => Read(tensor, out _));

        Assert.Contains("'gone.bin'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_external_file_too_short_for_the_weight_is_refused()
    {
        File.WriteAllBytes(Path.Combine(_temp, "short.bin"), new byte[40]);
        var tensor = Tensor("w", [2, 4], location: "short.bin", offset: 16, length: 32);

        var error = Assert.Throws<InvalidDataException>(() => Read(tensor, out _));

        Assert.Contains("'w'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stored_bytes_that_do_not_fit_the_dims_are_refused()
    {
        var error = Assert.Throws<InvalidDataException>(() => Read(Tensor("w", [2, 4], raw: new byte[28]), out _));

        Assert.Contains("28 bytes", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => Read(TypedTensor("w", [2, 4], Float, floats: s_values[..7]), out _));
    }

    [Theory]
    [InlineData(1.0f, 0x3F80)]
    [InlineData(1.00390625f, 0x3F80)] // halfway between 0x3F80 and 0x3F81: ties to even
    [InlineData(1.01171875f, 0x3F82)] // halfway between 0x3F81 and 0x3F82: ties to even
    [InlineData(1.0078125f, 0x3F81)]
    [InlineData(-3.0e38f, 0xFF62)]
    [InlineData(float.PositiveInfinity, 0x7F80)]
    public void Bfloat16_rounds_to_nearest_even(float value, int expected) => Assert.Equal((ushort)expected, OnnxWeightData.ToBFloat16(value));

    /// <summary>The data at offset 100 of an external file, and the tensor naming it.</summary>
    private byte[] External(string location, byte[] data, int dataType)
    {
        var file = Path.Combine(_temp, location.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var bytes = new byte[100 + data.Length];
        data.CopyTo(bytes, 100);
        File.WriteAllBytes(file, bytes);
        return Tensor("w", [2, 4], dataType, location: location, offset: 100, length: data.Length);
    }

    private float[] Read(byte[] tensor, out OnnxWeightLayer layer)
    {
        var graph = Graph("read", [NamedNode("/unet/layer/MatMul", "MatMul", ["x", "w"], ["y"])], [tensor]);
        var index = OnnxWeightIndex.Read(Write(_temp, Model(graph)));
        Assert.True(index.TryGetLayer("layer", out layer!));
        return index.ReadWeight(layer);
    }
}
