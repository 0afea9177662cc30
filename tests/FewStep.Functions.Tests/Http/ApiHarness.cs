using System.Text.Json;
using FewStep.Functions.Contracts;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Rendering;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Triggers;
using FewStep.Functions.Validation;
using FewStep.Onnx.Sessions;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace FewStep.Functions.Tests.Http;

/// <summary>
/// <see cref="GenerationsApi"/> over a catalog of the conformance tiny models (validation reads their configs, no
/// ONNX sessions), an in-memory image store and a mocked <see cref="DurableTaskClient"/> that records what is
/// scheduled and answers <c>GetInstanceAsync</c> from <see cref="Instances"/>.
/// </summary>
internal sealed class ApiHarness : IDisposable
{
    public const string BaseUrl = "https://fewstep.example";
    public const string GenerationsUrl = BaseUrl + "/api/generations";

    /// <summary>A catalog entry whose folder does not exist: requests for it get 503.</summary>
    public const string MissingModel = "not-installed";

    private readonly string _root;
    private readonly ModelRegistry _registry;

    private ApiHarness(Action<FewStepOptions>? configure)
    {
        _root = Directory.CreateTempSubdirectory("fewstep-http-").FullName;
        var catalog = Path.Combine(_root, "catalog.json");
        File.WriteAllText(catalog, JsonSerializer.Serialize(new
        {
            models = new object[]
            {
                new { name = "tiny-sd-turbo", folder = ConformancePaths.Model("tiny-sd-turbo"), steps = 1, min_steps = 1, max_steps = 4, guidance_scale = 0f, max_guidance_scale = 10f, max_width = 256, max_height = 256 },
                new { name = "tiny-sdxl-turbo", folder = ConformancePaths.Model("tiny-sdxl-turbo"), steps = 2, min_steps = 1, max_steps = 4, guidance_scale = 0f, max_guidance_scale = 10f, width = 64, height = 64, max_width = 256, max_height = 256 },
                new { name = "tiny-lcm", folder = ConformancePaths.Model("tiny-lcm"), steps = 4, min_steps = 1, max_steps = 8, guidance_scale = 8f, max_guidance_scale = 15f, width = 64, height = 64, max_width = 256, max_height = 256 },
                new { name = MissingModel, folder = "no-such-folder", steps = 1, min_steps = 1, max_steps = 4 },
            },
        }));

        Options = new FewStepOptions { ModelRoot = _root, ModelCatalogFile = catalog, BatchSize = 3 };
        configure?.Invoke(Options);
        var options = MsOptions.Create(Options);
        _registry = new ModelRegistry(options, new OnnxSessionFactory(new OnnxExecutionOptions()), NullLogger<ModelRegistry>.Instance);
        Api = new GenerationsApi(
            new GenerationRequestParser(_registry, options),
            new GenerationStatusReader(Store),
            options,
            TimeProvider.System,
            NullLogger<GenerationsApi>.Instance);

        Client.Setup(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()))
            .Returns((TaskName name, object? input, StartOrchestrationOptions? start, CancellationToken _) =>
            {
                Scheduled.Add(new ScheduledStart(name, input, start));
                return ScheduleFailure is { } failure ? Task.FromException<string>(failure()) : Task.FromResult(start?.InstanceId ?? "generated-id");
            });
        Client.Setup(c => c.GetInstanceAsync(It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>()))
            .Returns((string id, bool _, CancellationToken _) => Task.FromResult(Lookup(id)));
        Client.Setup(c => c.TerminateInstanceAsync(It.IsAny<string>(), It.IsAny<TerminateInstanceOptions?>(), It.IsAny<CancellationToken>()))
            .Returns((string id, TerminateInstanceOptions? terminate, CancellationToken _) =>
            {
                Terminated.Add((id, terminate));
                return Task.CompletedTask;
            });
    }

    public FewStepOptions Options { get; }

    public GenerationsApi Api { get; }

    public InMemoryImageStore Store { get; } = new();

    public Mock<DurableTaskClient> Client { get; } = new("test") { CallBase = true };

    /// <summary>Instances <c>GetInstanceAsync</c> finds, by id.</summary>
    public Dictionary<string, OrchestrationMetadata> Instances { get; } = new(StringComparer.Ordinal);

    /// <summary>Consulted before <see cref="Instances"/>: lets a test change what a second look-up sees.</summary>
    public Func<string, OrchestrationMetadata?>? InstanceLookup { get; set; }

    /// <summary>When set, <c>ScheduleNewOrchestrationInstanceAsync</c> records the call, then throws this.</summary>
    public Func<Exception>? ScheduleFailure { get; set; }

    public List<ScheduledStart> Scheduled { get; } = [];

    public List<(string Id, TerminateInstanceOptions? Options)> Terminated { get; } = [];

    public static ApiHarness Create(Action<FewStepOptions>? configure = null) => new(configure);

    public Task<HttpResponseData> PostAsync(string json, string? idempotencyKey = null)
    {
        var request = TestHttpRequest.Post(json, GenerationsUrl);
        if (idempotencyKey is not null)
        {
            request.WithHeader(GenerationsApi.IdempotencyKeyHeader, idempotencyKey);
        }

        return PostAsync(request);
    }

    public Task<HttpResponseData> PostAsync(HttpRequestData request) => Api.Start(request, Client.Object, CancellationToken.None);

    public Task<HttpResponseData> GetAsync(string id) =>
        Api.Get(TestHttpRequest.Get($"{GenerationsUrl}/{id}"), Client.Object, id, CancellationToken.None);

    public Task<HttpResponseData> DeleteAsync(string id) =>
        Api.Cancel(TestHttpRequest.Delete($"{GenerationsUrl}/{id}"), Client.Object, id, CancellationToken.None);

    /// <summary>Asserts nothing was scheduled, naming the calls that were.</summary>
    public void VerifyNothingScheduled()
    {
        Assert.Empty(Scheduled);
        Client.Verify(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    /// <summary>An instance as <c>GetInstanceAsync(id, getInputsAndOutputs: true)</c> returns it.</summary>
    public static OrchestrationMetadata Instance(
        string id,
        OrchestrationRuntimeStatus status,
        GenerationInput? input,
        object? customStatus = null,
        object? output = null,
        TaskFailureDetails? failure = null,
        DateTimeOffset? createdAt = null,
        DateTimeOffset? lastUpdatedAt = null) =>
        new(GenerateImagesOrchestrator.Name, id)
        {
            DataConverter = JsonDataConverter.Default,
            RuntimeStatus = status,
            CreatedAt = createdAt ?? new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero),
            LastUpdatedAt = lastUpdatedAt ?? new DateTimeOffset(2025, 1, 2, 3, 5, 0, TimeSpan.Zero),
            SerializedInput = input is null ? null : JsonDataConverter.Default.Serialize(input),
            SerializedCustomStatus = customStatus is null ? null : JsonDataConverter.Default.Serialize(customStatus),
            SerializedOutput = output is null ? null : JsonDataConverter.Default.Serialize(output),
            FailureDetails = failure,
        };

    /// <summary>The input a generation of <paramref name="prompts"/> × <paramref name="imagesPerPrompt"/> images was started with.</summary>
    public static GenerationInput SampleInput(string id, long seed, int prompts = 1, int imagesPerPrompt = 1) => new(
        id,
        new GenerationSpec
        {
            Model = "tiny-sd-turbo",
            Prompts = Enumerable.Range(0, prompts).Select(i => $"prompt {i}").ToList(),
            NumInferenceSteps = 1,
            GuidanceScale = 0,
            Width = 64,
            Height = 64,
            Seed = seed,
            SeedWasGiven = true,
            NumImagesPerPrompt = imagesPerPrompt,
        },
        $"generations/{id}",
        4,
        64,
        64,
        new RetrySettings(4, TimeSpan.FromSeconds(5), 2),
        new RetrySettings(5, TimeSpan.FromSeconds(10), 2),
        new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));

    public void Dispose()
    {
        _registry.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private OrchestrationMetadata? Lookup(string id) =>
        InstanceLookup is { } lookup ? lookup(id) : Instances.GetValueOrDefault(id);

    public sealed record ScheduledStart(TaskName Name, object? Input, StartOrchestrationOptions? Options)
    {
        public GenerationInput GenerationInput => Assert.IsType<GenerationInput>(Input);
    }
}
