using FewStep.Conformance;

namespace FewStep.Onnx.Tests.Conformance;

/// <summary>
/// Every case in ../shared/conformance/cases-lora: LoRA files merged into the tiny models at load (kohya, PEFT and
/// diffusers keys, F32 and F16, UNet and text encoder, scales), one with LCMScheduler replacing the folder's Euler,
/// compared with diffusers' <c>load_lora_weights</c> tensor for tensor. A case run without its LoRA must fail: the
/// comparison sees the LoRA.
/// </summary>
public sealed class LoraConformanceCaseTests : IClassFixture<CaseRunnerFixture>
{
    private readonly CaseRunnerFixture _fixture;

    public LoraConformanceCaseTests(CaseRunnerFixture fixture) => _fixture = fixture;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var directory in ConformanceCase.Discover(ConformancePaths.LoraCases))
        {
            data.Add(Path.GetFileName(directory));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case_matches_the_reference(string name)
    {
        var testCase = ConformanceCase.Load(Path.Combine(ConformancePaths.LoraCases, name));
        Assert.NotEmpty(testCase.Loras);

        var result = _fixture.Runner.Run(testCase);

        Assert.True(result.Passed, $"{name} failed:\n{string.Join("\n", result.Failures)}");
        Assert.Contains(result.ArrayDiffs, d => d.Key == "unet_out_step0");
        Assert.Contains(result.ArrayDiffs, d => d.Key == "prompt_embeds");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Without_its_lora_the_case_fails(string name)
    {
        var testCase = ConformanceCase.Load(Path.Combine(ConformancePaths.LoraCases, name)).WithoutLoras();

        var result = _fixture.Runner.Run(testCase);

        Assert.False(result.Passed, $"{name} passed without its LoRA: the comparison cannot see the LoRA");
        Assert.Contains(result.Failures, f => f.Contains("unet_out_step0", StringComparison.Ordinal));
    }

    [Fact]
    public void Lora_corpus_has_the_four_cases()
    {
        Assert.True(Cases().Count >= 4);
    }
}
