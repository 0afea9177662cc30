namespace FewStep.Onnx.Lora;

/// <summary>
/// Reads a LoRA <c>.safetensors</c> file and maps every key onto a layer of the model described by an
/// <see cref="ILoraTargets"/>: kohya (diffusers or SGM block names), PEFT, diffusers and diffusers' legacy attention
/// processor keys, mixed freely. Every key must find its layer; anything else is an error that names the key and
/// the file, because a LoRA applied in part changes the model in a way its author never saw.
/// </summary>
/// <remarks>
/// Alpha is kohya's <c>.alpha</c> of that very layer, or none (<see cref="LoraLayer.AlphaOverRank"/> then takes
/// alpha = rank, scale 1), which is what diffusers computes for these formats and what sd-scripts does. diffusers
/// 0.27.2's quirks are deliberately not reproduced: it gives a file without alphas whose ranks differ the first
/// layer's rank as alpha for every layer, fills a kohya layer without <c>.alpha</c> with the component's most frequent
/// alpha, and ignores text-encoder q/k/v/out_proj alphas that differ from the most frequent one. Those follow from
/// how it builds one PEFT config per component, not from any format's meaning.
/// </remarks>
public static class LoraFileReader
{
    /// <exception cref="Diffusion.DiffusionException">
    /// The file is not valid safetensors, holds no LoRA tensors, or has a key that is in no known format, is for
    /// another model family (SDXL / SD 1.x-2.x), names a component or layer the model lacks, is given twice, lacks
    /// its down or up partner, or has a shape that is not a LoRA's.
    /// </exception>
    public static LoraFile Read(string path, ILoraTargets targets)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(targets);

        using var file = SafetensorsFile.Open(path);
        if (file.Names.Count == 0)
        {
            throw LoraErrors.File(path, "holds no tensors, so no LoRA weights");
        }

        // Every key is mapped before any tensor data is read: a file for another model fails at once, whatever its size.
        var resolver = new ModulePathResolver(targets, path);
        var layers = new Dictionary<(string Component, string ModulePath), LoraLayerKeys>();
        var order = new List<LoraLayerKeys>();
        var formats = new HashSet<LoraFormat>();
        foreach (var name in file.Names)
        {
            var key = LoraKeyParser.Parse(name, targets, path);
            var modulePath = resolver.Resolve(key);
            if (!layers.TryGetValue((key.Component, modulePath), out var layer))
            {
                layer = new LoraLayerKeys(key.Component, modulePath);
                layers.Add((key.Component, modulePath), layer);
                order.Add(layer);
            }

            layer.Add(key, path);
            formats.Add(key.Format);
        }

        var read = order.Select(layer => layer.Read(file)).ToArray();
        return new LoraFile(path, file.ComputeSha256(), formats, read, file.Metadata);
    }
}
