namespace FewStep.Tests;

/// <summary>A fact that runs only where a CUDA GPU is present, and otherwise skips saying so.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!HasCudaGpu)
        {
            Skip = "needs a CUDA GPU";
        }
    }

    /// <summary>The NVIDIA driver's control device exists only where a GPU and its driver are installed.</summary>
    public static bool HasCudaGpu => File.Exists("/dev/nvidiactl") || Environment.GetEnvironmentVariable("FEWSTEP_CUDA_TESTS") == "1";
}
