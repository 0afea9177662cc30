using System.Runtime.InteropServices;
using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Models;

namespace FewStep.Onnx.Graphs;

/// <summary>
/// Writes a float16 copy of a float32 model folder (see <see cref="OnnxModelGraph.WriteAsFloat16"/>): what a user's
/// float16 GPU export is, made from the exports and real-size skeletons at hand, because none is in the corpus and
/// none can be downloaded here. Components with external data get a new <c>model.onnx_data</c> of half the size.
/// </summary>
internal static class Float16Conversion
{
    private const string DataFile = "model.onnx_data";

    // ONNX Runtime maps external data page by page: each tensor starts on a 4 KiB boundary, as the exporters write them.
    private const int Alignment = 4096;

    public static void ConvertFolder(string source, string destination)
    {
        source = Path.GetFullPath(source);
        destination = Path.GetFullPath(destination);
        var models = Directory.EnumerateFiles(source, ModelFolder.OnnxFile, SearchOption.AllDirectories).ToList();
        var skipped = models.SelectMany(m => OnnxExternalData.ReadLocations(m).Select(l => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(m)!, l))))
            .Concat(models).ToHashSet(StringComparer.Ordinal);
        // Hidden files are the source folder's own bookkeeping (fill stamps and locks), not part of the model.
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories).Where(f => !skipped.Contains(f) && !Path.GetFileName(f).StartsWith('.')))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }

        foreach (var model in models)
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, model));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            ConvertModel(model, target);
        }
    }

    private static void ConvertModel(string model, string target)
    {
        var folder = Path.GetDirectoryName(model)!;
        var dataPath = Path.Combine(Path.GetDirectoryName(target)!, DataFile);
        FileStream? data = null;
        var readers = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        try
        {
            var converted = OnnxModelGraph.Parse(File.ReadAllBytes(model), model).WriteAsFloat16(tensor =>
            {
                if (!readers.TryGetValue(tensor.Location, out var reader))
                {
                    reader = File.OpenRead(Path.Combine(folder, OnnxExternalData.ValidateLocation(tensor.Location, model)));
                    readers[tensor.Location] = reader;
                }

                var length = tensor.Length >= 0 ? tensor.Length : reader.Length - tensor.Offset;
                var floats = new byte[length];
                reader.Position = tensor.Offset;
                reader.ReadExactly(floats);
                data ??= new FileStream(dataPath, FileMode.Create, FileAccess.Write);
                data.Position = (data.Length + Alignment - 1) / Alignment * Alignment;
                var offset = data.Position;
                var halves = OnnxModelGraph.HalfBytes(MemoryMarshal.Cast<byte, float>(floats));
                data.Write(halves);
                return new ExternalTensor(tensor.Name, DataFile, offset, halves.Length);
            });
            File.WriteAllBytes(target, converted);
        }
        finally
        {
            data?.Dispose();
            foreach (var reader in readers.Values)
            {
                reader.Dispose();
            }
        }
    }
}
