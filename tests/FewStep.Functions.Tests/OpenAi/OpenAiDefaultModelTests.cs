using System.Net;
using System.Text;
using FewStep.Functions.Tests.Support;

namespace FewStep.Functions.Tests.OpenAi;

/// <summary>An OpenAI request that names no model renders with <c>FewStep:DefaultModel</c> (checked against the catalog at start-up).</summary>
public sealed class OpenAiDefaultModelTests : IAsyncLifetime
{
    private TestApp _app = null!;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o => o.Settings["FewStep:DefaultModel"] = TestApp.LcmModel);

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task A_request_without_a_model_uses_the_default_model_and_its_recommended_settings()
    {
        using var content = new StringContent("""{"prompt":"a fox"}""", Encoding.UTF8, "application/json");

        using var response = await _app.Http.PostAsync("api/v1/images/generations", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var job = Assert.Single(_app.Fake!.Jobs.Snapshot());
        Assert.Equal((TestApp.LcmModel, 4, 8f), (job.Model, job.NumInferenceSteps, job.GuidanceScale));
    }
}
