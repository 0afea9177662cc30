namespace FewStep.Onnx.Tests.RealSize;

/// <summary>
/// A fact over the filled real-size SD-Turbo skeleton: it writes about 5 GB once (then reuses it) and needs about
/// 10 GB of memory to load, so it runs only when asked for with FEWSTEP_REALSIZE=1.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class RealSizeFactAttribute : FactAttribute
{
    public const string Variable = "FEWSTEP_REALSIZE";

    public RealSizeFactAttribute()
    {
        if (!Enabled)
        {
            Skip = "set FEWSTEP_REALSIZE=1 to run real-size tests (about 5 GB of disk, 10 GB of memory)";
        }
    }

    public static bool Enabled => Environment.GetEnvironmentVariable(Variable) == "1";
}
