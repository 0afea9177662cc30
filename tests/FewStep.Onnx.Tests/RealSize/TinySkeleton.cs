using System.Globalization;
using System.Text;

namespace FewStep.Onnx.Tests.RealSize;

/// <summary>
/// A skeleton small enough for every test run: one component with a fill.json of a few tensors, gaps between them
/// and a tensor longer than one generator block, plus stand-ins for the files a fill only copies.
/// </summary>
internal static class TinySkeleton
{
    public const long DataBytes = 5_000_000;

    /// <summary>name, dims, offset, mean, std. The second spans two 1 Mi-value blocks; the first has an odd count.</summary>
    public static readonly (string Name, long[] Dims, long Offset, double Mean, double Std)[] Tensors =
    [
        ("enc.small.weight", [3, 5], 4096, 0.25, 0.5),
        ("enc.big.weight", [1024, 1100], 8192, -0.001, 0.02),
        ("enc.tail.bias", [64], 4_614_400, 0, 1),
    ];

    public static string Write(string folder) => Write(folder, Tensors.Select(t => Tensor(t.Name, t.Dims, t.Offset, t.Mean, t.Std)), DataBytes);

    /// <summary>Writes a skeleton whose component <c>enc</c> has this raw tensors JSON (entries may be deliberately wrong).</summary>
    public static string Write(string folder, IEnumerable<string> tensorsJson, long dataBytes)
    {
        var component = Directory.CreateDirectory(Path.Combine(folder, "enc")).FullName;
        Directory.CreateDirectory(Path.Combine(folder, "tokenizer"));
        File.WriteAllText(Path.Combine(folder, "model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\"}");
        File.WriteAllText(Path.Combine(folder, "tokenizer", "vocab.json"), "{}");
        File.WriteAllText(Path.Combine(component, "config.json"), "{}");
        File.WriteAllBytes(Path.Combine(component, "model.onnx"), Encoding.ASCII.GetBytes("not a real graph"));
        File.WriteAllText(
            Path.Combine(component, "fill.json"),
            $"{{\"data_file\": \"model.onnx_data\", \"data_bytes\": {dataBytes}, \"dtype\": \"float32\", \"little_endian\": true, \"tensors\": [{string.Join(",", tensorsJson)}]}}");
        return folder;
    }

    public static string Tensor(string name, long[] dims, long offset, double mean = 0, double std = 1, long? length = null) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"{{\"name\": \"{name}\", \"dims\": [{string.Join(",", dims)}], \"offset\": {offset}, \"length\": {length ?? (dims.Aggregate(1L, (a, b) => a * b) * 4)}, \"mean\": {mean}, \"std\": {std}}}");
}
