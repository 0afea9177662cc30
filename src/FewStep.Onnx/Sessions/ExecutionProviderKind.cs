namespace FewStep.Onnx.Sessions;

/// <summary>Which ONNX Runtime execution provider runs the models.</summary>
public enum ExecutionProviderKind
{
    Cpu,
    Cuda,
}
