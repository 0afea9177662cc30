using FewStep.Onnx.Sessions;

namespace FewStep.Cli.Infrastructure;

/// <summary>Parses <c>--device cpu|cuda</c>.</summary>
public static class DeviceOption
{
    public static bool TryParse(string? text, out ExecutionProviderKind kind)
    {
        kind = ExecutionProviderKind.Cpu;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "cpu":
                return true;
            case "cuda" or "gpu":
                kind = ExecutionProviderKind.Cuda;
                return true;
            default:
                return false;
        }
    }

    public static ExecutionProviderKind Parse(string? text) =>
        TryParse(text, out var kind) ? kind : throw new UsageException($"--device must be cpu or cuda, not '{text}'.");
}
