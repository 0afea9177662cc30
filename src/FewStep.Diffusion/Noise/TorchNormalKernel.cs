using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Noise;

/// <summary>
/// Which of PyTorch's CPU kernels turns float uniforms into normals (tensors of 16 or more elements): they differ
/// in the last bits of about 38% of the values. ATen picks one per process from the CPU.
/// </summary>
[JsonConverter(typeof(TorchNormalKernelJsonConverter))]
public enum TorchNormalKernel
{
    /// <summary>
    /// <c>CPU_CAPABILITY_AVX2</c>: what torch runs on every x86-64 CPU with AVX2 (AVX-512 ones included), so what a
    /// diffusers user on a Linux or cloud machine gets. The default.
    /// </summary>
    Avx2,

    /// <summary>ATen's <c>DEFAULT</c> dispatch (glibc <c>logf</c>/<c>sincosf</c>): x86 without AVX2, ARM Linux builds.</summary>
    Default,
}
