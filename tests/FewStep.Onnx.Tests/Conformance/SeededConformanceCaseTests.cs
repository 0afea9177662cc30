using FewStep.Conformance;

namespace FewStep.Onnx.Tests.Conformance;

/// <summary>
/// Every case in ../shared/conformance/cases-seeded: nothing injected, all noise drawn from one torch CPU generator
/// per image seeded as diffusers seeded it. Each draw must hash exactly as torch's (the array tolerances are too
/// loose to show a wrong kernel), the initial latents must be exact (AVX2 cases), the rest within the usual tolerances.
/// </summary>
public sealed class SeededConformanceCaseTests : IClassFixture<CaseRunnerFixture>
{
    private readonly CaseRunnerFixture _fixture;

    public SeededConformanceCaseTests(CaseRunnerFixture fixture) => _fixture = fixture;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var directory in ConformanceCase.Discover(ConformancePaths.SeededCases))
        {
            data.Add(Path.GetFileName(directory));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case_matches_the_reference_from_its_seeds(string name)
    {
        var testCase = ConformanceCase.Load(Path.Combine(ConformancePaths.SeededCases, name));

        var result = _fixture.Runner.Run(testCase);

        Assert.True(result.Passed, $"{name} failed:\n{string.Join("\n", result.Failures)}");
        Assert.NotNull(testCase.Seeds);
        Assert.True(result.NoiseDrawsChecked >= testCase.NoiseDraws.Count(d => d.Used), $"{name}: only {result.NoiseDrawsChecked} draws were checked");
        if (testCase.Kernel == FewStep.Diffusion.Noise.TorchNormalKernel.Avx2)
        {
            // Exact: the noise is torch's, and init_noise_sigma is computed as torch's AVX2 build computes it. (Under
            // the default dispatch torch's own float32 pow rounds init_noise_sigma 2 ulps differently.)
            Assert.Equal(0, Assert.Single(result.ArrayDiffs, d => d.Key == "latents_init").Value);
        }
    }

    [Fact]
    public void A_wrong_kernel_is_caught_by_the_hashes_alone()
    {
        var name = Path.GetFileName(ConformanceCase.Discover(ConformancePaths.SeededCases).First(d => d.EndsWith("seed42", StringComparison.Ordinal)));
        var testCase = ConformanceCase.Load(Path.Combine(ConformancePaths.SeededCases, name));

        var result = _fixture.Runner.Run(testCase, kernelOverride: FewStep.Diffusion.Noise.TorchNormalKernel.Default);

        Assert.False(result.Passed);
        Assert.All(result.Failures, f => Assert.StartsWith("noise:", f, StringComparison.Ordinal));
    }

    [Fact]
    public void Seeded_corpus_has_cases_for_both_kernels()
    {
        var cases = ConformanceCase.Discover(ConformancePaths.SeededCases).Select(ConformanceCase.Load).ToList();

        Assert.True(cases.Count >= 5);
        Assert.Contains(cases, c => c.Kernel == FewStep.Diffusion.Noise.TorchNormalKernel.Default);
        Assert.Contains(cases, c => c.Seeds!.Any(s => s > uint.MaxValue));
    }
}
