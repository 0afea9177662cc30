namespace FewStep.Onnx.Lora;

/// <summary>The merge targets of a loaded model folder: each component's weight layers, read from its ONNX graph.</summary>
internal sealed class ModelLoraTargets(IReadOnlyDictionary<string, OnnxWeightIndex> indexes, bool isSdxl, int layersPerBlock) : ILoraTargets
{
    public IReadOnlyCollection<string> Components => indexes.Keys.ToArray();

    public bool IsSdxl => isSdxl;

    public int LayersPerBlock => layersPerBlock;

    public IReadOnlySet<string> ModulePaths(string component) =>
        indexes.TryGetValue(component, out var index) ? index.ModulePaths : new HashSet<string>();
}
