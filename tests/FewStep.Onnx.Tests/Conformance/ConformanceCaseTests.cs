using FewStep.Conformance;

namespace FewStep.Onnx.Tests.Conformance;

/// <summary>
/// Every case in ../shared/conformance/cases through the real pipeline on CPU with the recorded noise:
/// token ids exact; embeddings, every step's UNet input and output, model output, latents and x0 estimate, the
/// final latents, the VAE input and output within atol 1e-3 + rtol 1e-4; the image within 2e-3; the PNGs.
/// </summary>
public sealed class ConformanceCaseTests : IClassFixture<CaseRunnerFixture>
{
    private readonly CaseRunnerFixture _fixture;

    public ConformanceCaseTests(CaseRunnerFixture fixture) => _fixture = fixture;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var directory in ConformanceCase.Discover(ConformancePaths.Cases))
        {
            data.Add(Path.GetFileName(directory));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case_matches_the_reference(string name)
    {
        var testCase = ConformanceCase.Load(Path.Combine(ConformancePaths.Cases, name));

        var result = _fixture.Runner.Run(testCase);

        Assert.True(result.Passed, $"{name} failed:\n{string.Join("\n", result.Failures)}");
        Assert.True(result.ArraysCompared >= 10, $"{name}: only {result.ArraysCompared} arrays were compared");
    }

    [Fact]
    public void Corpus_holds_every_pipeline_family()
    {
        var models = ConformanceCase.Discover(ConformancePaths.Cases).Select(d => ConformanceCase.Load(d).Model).ToHashSet();

        Assert.Superset(new HashSet<string> { "tiny-sd-turbo", "tiny-sdxl-turbo", "tiny-sdxl-lightning", "tiny-lcm" }, models);
    }
}
