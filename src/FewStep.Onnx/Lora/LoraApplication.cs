using System.Globalization;
using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Models;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Lora;

/// <summary>
/// The LoRAs of one pipeline load: read and checked against every component's graph up front (a LoRA that does not
/// fit fails before any session exists), then merged one component at a time as its session is created, so only one
/// component's merged weights exist beside ONNX Runtime's copy at any moment.
/// </summary>
/// <remarks>
/// Measured on the real-size SD-Turbo UNet (3.46 GB fp32, an LCM-LoRA-shaped rank-64 file on its 278 layers): ONNX
/// Runtime copies external initializers while it creates the session and then holds the merged weights instead of
/// the file's, so once the merged buffers are released the loaded pipeline takes what the plain one takes.
/// </remarks>
internal sealed class LoraApplication : IDisposable
{
    private readonly IReadOnlyDictionary<string, OnnxWeightIndex> _indexes;
    private readonly Dictionary<string, List<(LoraLayer Layer, float Scale)>> _layers;
    private bool _released;

    private LoraApplication(
        IReadOnlyDictionary<string, OnnxWeightIndex> indexes,
        Dictionary<string, List<(LoraLayer Layer, float Scale)>> layers,
        IReadOnlyList<AppliedLora> applied)
    {
        _indexes = indexes;
        _layers = layers;
        Applied = applied;
    }

    public static LoraApplication None { get; } = new(new Dictionary<string, OnnxWeightIndex>(), [], []);

    public IReadOnlyList<AppliedLora> Applied { get; }

    /// <summary>Reads <paramref name="loras"/> against a SD, SDXL or LCM model folder and checks every layer; errors name the file and key.</summary>
    public static LoraApplication Prepare(ModelFolder folder, UNetConfig unet, IReadOnlyList<LoraSpec> loras)
    {
        if (loras.Count == 0)
        {
            return None;
        }

        foreach (var lora in loras)
        {
            if (!float.IsFinite(lora.Scale))
            {
                throw new DiffusionException(string.Create(CultureInfo.InvariantCulture, $"LoRA '{lora.Path}': scale must be a finite number, not {lora.Scale}."));
            }

            if (!File.Exists(lora.Path))
            {
                throw new DiffusionException($"LoRA file '{lora.Path}' does not exist.");
            }
        }

        var (indexes, targets) = ReadTargets(folder, unet);
        var files = loras.Select(l => (File: LoraFileReader.Read(l.Path, targets), l.Scale)).ToList();
        var layers = new Dictionary<string, List<(LoraLayer, float)>>(StringComparer.Ordinal);
        foreach (var component in indexes.Keys)
        {
            var list = files.SelectMany(f => f.File.Layers.Where(l => l.Component == component).Select(l => (l, f.Scale))).ToList();
            if (list.Count > 0)
            {
                LoraMerge.Check(indexes[component], component, list);
                layers[component] = list;
            }
        }

        var applied = files.Select(f => new AppliedLora(f.File.Path, f.File.Sha256, f.Scale,
            f.File.Layers.GroupBy(l => l.Component, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal))).ToList();
        return new LoraApplication(indexes, layers, applied);
    }

    /// <summary>The merge targets of a SD, SDXL or LCM folder: each LoRA-able component's weight layers, from its graph.</summary>
    public static (IReadOnlyDictionary<string, OnnxWeightIndex> Indexes, ILoraTargets Targets) ReadTargets(ModelFolder folder, UNetConfig unet)
    {
        if (folder.Family == PipelineFamily.PixArt)
        {
            throw new DiffusionException(
                $"loras: '{folder.Root}' is a {folder.Index.ClassName}; LoRAs are merged into SD, SDXL and LCM UNets and CLIP text encoders only.");
        }

        var isSdxl = folder.Family == PipelineFamily.StableDiffusionXL;
        string[] components = isSdxl ? ["unet", "text_encoder", "text_encoder_2"] : ["unet", "text_encoder"];
        var indexes = components.ToDictionary(c => c, c => OnnxWeightIndex.Read(folder.OnnxPath(c)), StringComparer.Ordinal);
        return (indexes, new ModelLoraTargets(indexes, isSdxl, unet.LayersPerBlock));
    }

    /// <summary>
    /// The component's session with its LoRA layers merged. Weights in external data go to ONNX Runtime as external
    /// initializers (before optimization, on any provider); ORT copies them, so the merged buffers are released as
    /// soon as the session exists. Weights inline in a model without external data are written into a copy of the
    /// model file in memory instead: ORT ignores a user initializer for a weight an optimization rewrote or placed on
    /// the GPU, and the copy keeps every optimization on. Only a model mixing both falls back to user initializers
    /// with the weight-rewriting optimizers off, kept alive by the session (CPU only: see <see cref="MergedWeights"/>).
    /// </summary>
    public OnnxModelSession CreateSession(OnnxSessionFactory sessions, string component, string modelPath)
    {
        if (!_layers.Remove(component, out var layers))
        {
            return sessions.Create(component, modelPath);
        }

        var weights = LoraMerge.Merge(_indexes[component], component, layers);
        if (weights.HasInlineWeights && weights.InlineOnly && OnnxExternalData.ReadLocations(modelPath).Count == 0)
        {
            using (weights)
            {
                return sessions.Create(component, modelPath, weights.CreatePatchedModel());
            }
        }

        if (!weights.HasInlineWeights)
        {
            using (weights)
            {
                _released = true;
                return sessions.Create(component, modelPath, weights.AddTo, null);
            }
        }

        return sessions.Create(component, modelPath, weights.AddTo, weights);
    }

    public void Dispose()
    {
        _layers.Clear();
        if (_released)
        {
            // The merged weights just released are gigabytes of pinned arrays; the GC frees them but returns the
            // memory to the OS only on an aggressive collection (measured: 1.2 GB kept for minutes otherwise). One
            // such collection per LoRA pipeline load, which takes seconds anyway.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }
}
