namespace FewStep.Onnx.Tests.Lora;

/// <summary>A measurement that reads gigabytes: runs only with FEWSTEP_LORA_BENCHMARK=1, and otherwise skips saying so.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class LoraBenchmarkFactAttribute : FactAttribute
{
    public LoraBenchmarkFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("FEWSTEP_LORA_BENCHMARK") != "1")
        {
            Skip = "a multi-GB measurement: set FEWSTEP_LORA_BENCHMARK=1";
        }
    }
}
