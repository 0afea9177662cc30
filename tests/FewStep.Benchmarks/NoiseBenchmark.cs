using System.Diagnostics;
using System.Globalization;
using FewStep.Diffusion.Noise;

namespace FewStep.Benchmarks;

/// <summary>
/// The initial noise of a 1024×1024 SDXL batch of 4 (4 images × 4 × 128 × 128 floats, one torch CPU generator per
/// image), with each kernel: the median time of a draw.
/// </summary>
internal static class NoiseBenchmark
{
    public static int Run(int runs)
    {
        var latents = new float[4 * 4 * 128 * 128];
        foreach (var kernel in new[] { TorchNormalKernel.Avx2, TorchNormalKernel.Default })
        {
            var times = new List<double>();
            for (var run = 0; run < runs + 2; run++)
            {
                var source = TorchNoiseSource.ForSeeds([1, 2, 3, 4], kernel);
                var start = Stopwatch.GetTimestamp();
                source.FillStandardNormal(NoiseDraw.InitialLatents, latents);
                if (run >= 2)
                {
                    times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }

            var median = times.Order().ElementAt(times.Count / 2);
            var how = kernel == TorchNormalKernel.Avx2 ? (TorchCpuGenerator.Avx2BlocksVectorised ? " (blocks vectorised)" : " (blocks scalar)") : string.Empty;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"noise: {latents.Length} floats (4 × [1, 4, 128, 128]), kernel {TorchNoiseSource.KernelName(kernel)}: {median:F2} ms median of {runs}{how}"));
        }

        return 0;
    }
}
