using FewStep.Onnx.Lora;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>An <see cref="ILoraTargets"/> from fixed path sets, for tests.</summary>
internal sealed class TestLoraTargets(IReadOnlyDictionary<string, IReadOnlySet<string>> paths, bool isSdxl, int layersPerBlock) : ILoraTargets
{
    public IReadOnlyCollection<string> Components => paths.Keys.ToArray();

    public bool IsSdxl => isSdxl;

    public int LayersPerBlock => layersPerBlock;

    public IReadOnlySet<string> ModulePaths(string component) =>
        paths.TryGetValue(component, out var set) ? set : new HashSet<string>();

    public static TestLoraTargets Of(bool isSdxl, int layersPerBlock, params (string Component, string[] Paths)[] components) =>
        new(components.ToDictionary(c => c.Component, c => (IReadOnlySet<string>)c.Paths.ToHashSet(StringComparer.Ordinal)),
            isSdxl, layersPerBlock);
}
