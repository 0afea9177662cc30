using FewStep.Conformance;

namespace FewStep.Onnx.Tests.Conformance;

/// <summary>
/// Every case in ../shared/conformance/cases-pixart through the PixArt pipeline on CPU with the recorded noise: ids,
/// masks and timesteps exact; latents and x0 estimates within atol 1e-2 + rtol 1e-4; embeddings, transformer and VAE
/// outputs within 1e-4; the image within 2e-3; the PNGs.
/// </summary>
public sealed class PixArtConformanceCaseTests : IClassFixture<CaseRunnerFixture>
{
    private readonly CaseRunnerFixture _fixture;

    public PixArtConformanceCaseTests(CaseRunnerFixture fixture) => _fixture = fixture;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var directory in ConformanceCase.Discover(ConformancePaths.PixArtCases))
        {
            data.Add(Path.GetFileName(directory));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case_matches_the_reference(string name)
    {
        var testCase = ConformanceCase.Load(Path.Combine(ConformancePaths.PixArtCases, name));

        var result = _fixture.Runner.Run(testCase);

        Assert.True(result.Passed, $"{name} failed:\n{string.Join("\n", result.Failures)}");
        Assert.Contains(result.ArrayDiffs, d => d.Key == "transformer_out_step0");
        Assert.Contains(result.ArrayDiffs, d => d.Key == "prompt_attention_mask");
        Assert.True(result.ArraysCompared >= 15, $"{name}: only {result.ArraysCompared} arrays were compared");
    }

    [Fact]
    public void Pixart_corpus_has_cases()
    {
        Assert.True(Cases().Count >= 2);
    }
}
