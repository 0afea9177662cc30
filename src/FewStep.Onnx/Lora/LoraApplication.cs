using System.Diagnostics;
using System.Globalization;
using FewStep.Diffusion;
using FewStep.Diffusion.Configuration;
using FewStep.Onnx.Models;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Lora;

/// <summary>
/// The LoRAs of one pipeline load, read against the model's graphs and merged per component. Each component's merged
/// weights go to its session as initializers and are then owned by that session; what no session took is disposed
/// with this object.
/// </summary>
internal sealed class LoraApplication : IDisposable
{
    private readonly Dictionary<string, MergedWeights> _merged;

    private LoraApplication(Dictionary<string, MergedWeights> merged, IReadOnlyList<AppliedLora> applied, TimeSpan elapsed)
    {
        _merged = merged;
        Applied = applied;
        Elapsed = elapsed;
    }

    public static LoraApplication None { get; } = new([], [], TimeSpan.Zero);

    public IReadOnlyList<AppliedLora> Applied { get; }

    public TimeSpan Elapsed { get; }

    /// <summary>Reads and merges <paramref name="loras"/> for a SD, SDXL or LCM model folder; errors name the file and key.</summary>
    public static LoraApplication Prepare(ModelFolder folder, UNetConfig unet, IReadOnlyList<LoraSpec> loras)
    {
        if (loras.Count == 0)
        {
            return None;
        }

        var start = Stopwatch.GetTimestamp();
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
        var components = indexes.Keys;
        var files = loras.Select(l => (File: LoraFileReader.Read(l.Path, targets), l.Scale)).ToList();
        var merged = new Dictionary<string, MergedWeights>(StringComparer.Ordinal);
        try
        {
            foreach (var component in components)
            {
                var layers = files.SelectMany(f => f.File.Layers.Where(l => l.Component == component).Select(l => (l, f.Scale))).ToList();
                if (layers.Count > 0)
                {
                    merged[component] = LoraMerge.Merge(indexes[component], component, layers);
                }
            }
        }
        catch
        {
            foreach (var weights in merged.Values)
            {
                weights.Dispose();
            }

            throw;
        }

        var applied = files.Select(f => new AppliedLora(f.File.Path, f.File.Sha256, f.Scale,
            f.File.Layers.GroupBy(l => l.Component, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal))).ToList();
        return new LoraApplication(merged, applied, Stopwatch.GetElapsedTime(start));
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
    /// The component's session, with its merged weights (if any) handed to it. Weights in external data go to ONNX
    /// Runtime as external initializers (before optimization, on any provider). Weights inline in a model without
    /// external data are written into a copy of the model file in memory instead: ORT ignores a user initializer for
    /// a weight an optimization rewrote or placed on the GPU, and the copy keeps every optimization on. Only a model
    /// mixing both falls back to user initializers with the weight-rewriting optimizers off (CPU only: see
    /// <see cref="MergedWeights"/>).
    /// </summary>
    public OnnxModelSession CreateSession(OnnxSessionFactory sessions, string component, string modelPath)
    {
        if (!_merged.Remove(component, out var weights))
        {
            return sessions.Create(component, modelPath);
        }

        if (weights.HasInlineWeights && weights.InlineOnly && OnnxExternalData.ReadLocations(modelPath).Count == 0)
        {
            using (weights)
            {
                return sessions.Create(component, modelPath, weights.CreatePatchedModel());
            }
        }

        return sessions.Create(component, modelPath, weights.AddTo, weights);
    }

    public void Dispose()
    {
        foreach (var weights in _merged.Values)
        {
            weights.Dispose();
        }

        _merged.Clear();
    }
}
