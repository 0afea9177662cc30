using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using FewStep.Onnx.Lora;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// The corpus LoRA files (kohya, PEFT, diffusers F16) read onto the layers of the real exported models, checked
/// against loras/index.json, the answer key recorded with diffusers: every module with its path, rank, alpha and
/// shapes, the file's hash and metadata, and tensor values against the raw bytes.
/// </summary>
public sealed class ConformanceLoraFileTests
{
    private static readonly Lazy<JsonDocument> s_index = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(LorasFolder, "index.json"))));

    private static string LorasFolder => Path.Combine(ConformancePaths.Root, "loras");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in s_index.Value.RootElement.GetProperty("files").EnumerateObject())
        {
            data.Add(file.Name);
        }

        return data;
    }

    [Fact]
    public void The_index_lists_every_file_of_the_folder()
    {
        var listed = s_index.Value.RootElement.GetProperty("files").EnumerateObject()
            .Select(f => f.Value.GetProperty("file").GetString()!).Order(StringComparer.Ordinal);
        var present = Directory.GetFiles(LorasFolder, "*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal);

        Assert.Equal(present, listed);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_module_maps_as_diffusers_mapped_it(string name)
    {
        var entry = s_index.Value.RootElement.GetProperty("files").GetProperty(name);
        var path = Path.Combine(LorasFolder, entry.GetProperty("file").GetString()!);
        var targets = OnnxLayerPaths.Targets(ConformancePaths.Model(entry.GetProperty("onnx_model").GetString()!));

        var lora = LoraFileReader.Read(path, targets);

        var modules = entry.GetProperty("modules").EnumerateArray().ToArray();
        Assert.Equal(entry.GetProperty("n_tensors").GetInt32(), modules.Sum(m => m.GetProperty("alpha_key").ValueKind == JsonValueKind.Null ? 2 : 3));
        Assert.Equal(modules.Length, lora.Layers.Count);
        var layers = lora.Layers.ToDictionary(l => (l.Component, l.ModulePath));
        foreach (var module in modules)
        {
            var layer = layers[(module.GetProperty("component").GetString()!, module.GetProperty("module").GetString()!)];
            Assert.Equal(module.GetProperty("down_key").GetString(), layer.Down.Key);
            Assert.Equal(module.GetProperty("up_key").GetString(), layer.Up.Key);
            Assert.Equal(module.GetProperty("rank").GetInt32(), layer.Rank);
            Assert.Equal(Ints(module.GetProperty("down_shape")), layer.Down.Shape);
            Assert.Equal(Ints(module.GetProperty("up_shape")), layer.Up.Shape);
            var alpha = module.GetProperty("alpha");
            Assert.Equal(alpha.ValueKind == JsonValueKind.Null ? null : alpha.GetSingle(), layer.Alpha);
            Assert.Equal(module.GetProperty("alpha_over_rank").GetSingle(), layer.AlphaOverRank);
        }

        Assert.Equal(entry.GetProperty("sha256").GetString(), lora.Sha256);
        Assert.Equal(entry.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!), lora.Metadata);
        Assert.Equal(ExpectedFormats(entry.GetProperty("format").GetString()!), lora.Formats.Order());
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Tensor_values_are_the_stored_ones_widened_exactly(string name)
    {
        var entry = s_index.Value.RootElement.GetProperty("files").GetProperty(name);
        var path = Path.Combine(LorasFolder, entry.GetProperty("file").GetString()!);
        var targets = OnnxLayerPaths.Targets(ConformancePaths.Model(entry.GetProperty("onnx_model").GetString()!));
        var lora = LoraFileReader.Read(path, targets);
        var raw = RawTensors.Read(path);

        foreach (var layer in lora.Layers.Where((_, i) => i % 7 == 0))
        {
            foreach (var tensor in new[] { layer.Down, layer.Up })
            {
                var (dtype, bytes) = raw[tensor.Key];
                Assert.Equal(entry.GetProperty("dtype").GetString(), dtype);
                var expected = Enumerable.Range(0, tensor.Data.Length).Select(i => dtype == "F16"
                    ? (float)BitConverter.ToHalf(bytes, i * 2)
                    : BitConverter.ToSingle(bytes, i * 4)).ToArray();
                Assert.Equal(expected, tensor.Data);
                Assert.Contains(tensor.Data, v => v != 0);
            }
        }
    }

    [Fact]
    public void The_kohya_locon_file_changes_convolutions_with_their_own_rank_and_alpha()
    {
        var targets = OnnxLayerPaths.Targets(ConformancePaths.Model("tiny-sd-turbo"));

        var lora = LoraFileReader.Read(Path.Combine(LorasFolder, "sd_kohya_unet_locon.safetensors"), targets);

        var downsampler = Assert.Single(lora.Layers, l => l.ModulePath == "down_blocks.0.downsamplers.0.conv");
        Assert.Equal([8, 32, 3, 3], downsampler.Down.Shape);
        Assert.Equal(0.5f, downsampler.AlphaOverRank);
        Assert.Contains(lora.Layers, l => l.ModulePath == "up_blocks.0.upsamplers.0.conv");
    }

    [Fact]
    public void A_file_for_sd_refuses_the_sdxl_model()
    {
        var targets = OnnxLayerPaths.Targets(ConformancePaths.Model("tiny-sdxl-lightning"));
        var path = Path.Combine(LorasFolder, "sd_kohya_unet_te.safetensors");

        var error = Assert.Throws<Diffusion.DiffusionException>(() => LoraFileReader.Read(path, targets));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("SD 1.x/2.x", error.Message, StringComparison.Ordinal);
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    /// <summary>diffusers' own files mix forms: attention layers as lora.down / lora.up, every other layer as PEFT's lora_A / lora_B.</summary>
    private static LoraFormat[] ExpectedFormats(string format) => format switch
    {
        "kohya" => [LoraFormat.Kohya],
        "peft" => [LoraFormat.Peft],
        "diffusers" => [LoraFormat.Peft, LoraFormat.Diffusers],
        _ => throw new InvalidDataException($"Unknown format '{format}' in loras/index.json."),
    };

    /// <summary>The tensors' dtypes and bytes, read independently of <see cref="SafetensorsFile"/>.</summary>
    private static class RawTensors
    {
        public static Dictionary<string, (string DType, byte[] Bytes)> Read(string path)
        {
            var file = File.ReadAllBytes(path);
            var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
            using var header = JsonDocument.Parse(Encoding.UTF8.GetString(file, 8, headerLength));
            var tensors = new Dictionary<string, (string, byte[])>(StringComparer.Ordinal);
            foreach (var tensor in header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
            {
                var offsets = tensor.Value.GetProperty("data_offsets");
                var begin = 8 + headerLength + offsets[0].GetInt32();
                var end = 8 + headerLength + offsets[1].GetInt32();
                tensors[tensor.Name] = (tensor.Value.GetProperty("dtype").GetString()!, file[begin..end]);
            }

            return tensors;
        }
    }
}
