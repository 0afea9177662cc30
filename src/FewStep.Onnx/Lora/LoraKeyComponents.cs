namespace FewStep.Onnx.Lora;

/// <summary>The check every key format shares: the component a key names must be one the model has.</summary>
internal static class LoraKeyComponents
{
    public static void CheckPresent(ILoraTargets targets, string component, string key, string path)
    {
        if (!targets.Components.Contains(component))
        {
            throw LoraErrors.Key(path, key,
                $"changes the {component}, which the model does not have (it has {string.Join(", ", targets.Components)})");
        }
    }
}
