using System.Net;
using FewStep.Functions.Tests.Support;
using Microsoft.DurableTask.Client;
using Moq;

namespace FewStep.Functions.Tests.Http;

/// <summary><c>DELETE /api/generations/{id}</c>: terminate a generation that has not ended.</summary>
public sealed class CancelGenerationTests : IDisposable
{
    private const string Id = "0123456789abcdef0123456789abcdef";

    private readonly ApiHarness _api = ApiHarness.Create();

    public void Dispose() => _api.Dispose();

    [Fact]
    public async Task Unknown_id_is_a_404_problem()
    {
        var response = await _api.DeleteAsync("no-such-generation");

        StartGenerationValidationTests.AssertProblem(response, HttpStatusCode.NotFound);
        Assert.Empty(_api.Terminated);
    }

    [Theory]
    [InlineData(OrchestrationRuntimeStatus.Completed, "succeeded")]
    [InlineData(OrchestrationRuntimeStatus.Failed, "failed")]
    [InlineData(OrchestrationRuntimeStatus.Terminated, "canceled")]
    public async Task Ended_generation_is_a_409_problem(OrchestrationRuntimeStatus status, string name)
    {
        _api.Instances[Id] = ApiHarness.Instance(Id, status, ApiHarness.SampleInput(Id, seed: 1));

        var response = await _api.DeleteAsync(Id);

        StartGenerationValidationTests.AssertProblem(response, HttpStatusCode.Conflict);
        Assert.Contains(name, response.ReadJson().GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(_api.Terminated);
        _api.Client.Verify(c => c.TerminateInstanceAsync(It.IsAny<string>(), It.IsAny<TerminateInstanceOptions?>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Theory]
    [InlineData(OrchestrationRuntimeStatus.Running)]
    [InlineData(OrchestrationRuntimeStatus.Pending)]
    [InlineData(OrchestrationRuntimeStatus.Suspended)]
    public async Task Live_generation_is_terminated_with_its_sub_orchestrations(OrchestrationRuntimeStatus status)
    {
        _api.Instances[Id] = ApiHarness.Instance(Id, status, ApiHarness.SampleInput(Id, seed: 1));

        var response = await _api.DeleteAsync(Id);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var statusUrl = $"{ApiHarness.GenerationsUrl}/{Id}";
        Assert.Equal(statusUrl, response.Header("Location"));
        var body = response.ReadJson();
        Assert.Equal(Id, body.GetProperty("id").GetString());
        Assert.Equal("canceling", body.GetProperty("status").GetString());
        Assert.Equal(statusUrl, body.GetProperty("status_url").GetString());

        var (id, options) = Assert.Single(_api.Terminated);
        Assert.Equal(Id, id);
        Assert.NotNull(options);
        Assert.True(options!.Recursive);
        _api.Client.Verify(c => c.TerminateInstanceAsync(Id, It.Is<TerminateInstanceOptions?>(o => o != null && o.Recursive), It.IsAny<CancellationToken>()), Times.Once);
    }
}
